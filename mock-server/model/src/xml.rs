//! XML answers: a small owned tree, rendering in the documented shapes, parsing, a canonical form
//! for comparison, and a diff that names the path of the first difference.
//!
//! Canonical form (what snapshots store and checks compare): no declaration, comments or
//! processing instructions; whitespace-only text between elements dropped; text trimmed;
//! attributes sorted by name; two-space indentation. Values are left exactly as sent: `1.4475` and
//! `1.44750` differ, because a client parsing the answer may see the difference.

use std::fmt;
use std::fmt::Write as _;

use quick_xml::escape::escape;
use quick_xml::events::Event;
use quick_xml::Reader;
use thiserror::Error;

use crate::catalogue::Declaration;

/// A node of an XML tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A child element.
    Element(Element),
    /// Character data (unescaped).
    Text(String),
}

/// An XML element with its attributes (in document order) and children.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    /// Tag name.
    pub name: String,
    /// Attributes, in order.
    pub attrs: Vec<(String, String)>,
    /// Child nodes, in order.
    pub children: Vec<Node>,
}

impl Element {
    /// An empty element.
    pub fn new(name: impl Into<String>) -> Self {
        Element {
            name: name.into(),
            attrs: Vec::new(),
            children: Vec::new(),
        }
    }

    /// Builder: add an attribute.
    pub fn attr(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.attrs.push((name.into(), value.into()));
        self
    }

    /// Builder: add a child element.
    pub fn child(mut self, el: Element) -> Self {
        self.children.push(Node::Element(el));
        self
    }

    /// Builder: add `<name>value</name>`.
    pub fn leaf(mut self, name: impl Into<String>, value: impl fmt::Display) -> Self {
        self.push_leaf(name, value);
        self
    }

    /// Builder: add a text node.
    pub fn text(mut self, value: impl Into<String>) -> Self {
        self.children.push(Node::Text(value.into()));
        self
    }

    /// Append a child element.
    pub fn push(&mut self, el: Element) {
        self.children.push(Node::Element(el));
    }

    /// Append `<name>value</name>`.
    pub fn push_leaf(&mut self, name: impl Into<String>, value: impl fmt::Display) {
        let v = value.to_string();
        let mut e = Element::new(name);
        if !v.is_empty() {
            e.children.push(Node::Text(v));
        }
        self.children.push(Node::Element(e));
    }

    /// Child elements, in order.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// The first child element called `name`.
    pub fn find(&self, name: &str) -> Option<&Element> {
        self.elements().find(|e| e.name == name)
    }

    /// The element at a slash-separated path below this one (`quickstats/today/calls`); a
    /// segment `name[N]` is the N-th child called `name` (from 1: `dids/did[3]/did_number`),
    /// `name[last]` the last one (the record a write just added to the end of a list, whatever
    /// the list held before).
    pub fn at(&self, path: &str) -> Option<&Element> {
        path.split('/')
            .filter(|s| !s.is_empty())
            .try_fold(self, |e, seg| {
                match seg.strip_suffix(']').and_then(|s| s.split_once('[')) {
                    Some((name, "last")) => e.elements().filter(|c| c.name == name).last(),
                    Some((name, n)) => {
                        let n: usize = n.parse().ok()?;
                        e.elements()
                            .filter(|c| c.name == name)
                            .nth(n.checked_sub(1)?)
                    }
                    None => e.find(seg),
                }
            })
    }

    /// The concatenated text of this element's direct text children.
    pub fn text_content(&self) -> String {
        let mut s = String::new();
        for n in &self.children {
            if let Node::Text(t) = n {
                s.push_str(t);
            }
        }
        s
    }

    /// Whether it has child elements.
    pub fn has_elements(&self) -> bool {
        self.elements().next().is_some()
    }
}

/// A whole XML answer: declaration and root element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The declaration line it starts with.
    pub declaration: Declaration,
    /// The root element.
    pub root: Element,
}

/// Layout of rendered XML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Everything on one line.
    Compact,
    /// Two-space indentation; elements holding only text stay on one line (as Rails Builder does).
    Pretty,
}

impl Document {
    /// A document with the usual UTF-8 declaration.
    pub fn new(root: Element) -> Self {
        Document {
            declaration: Declaration::Utf8,
            root,
        }
    }

    /// Render with a declaration line (if any) followed by the root.
    pub fn render(&self, layout: Layout) -> String {
        // Most answers fit: one allocation, no regrowth copies.
        let mut out = String::with_capacity(1024);
        let decl = self.declaration.as_str();
        if !decl.is_empty() {
            out.push_str(decl);
            out.push('\n');
        }
        render_element(&self.root, layout, 0, &mut out);
        if layout == Layout::Pretty {
            out.push('\n');
        }
        out
    }
}

/// Render one element (no declaration).
pub fn render_element(el: &Element, layout: Layout, depth: usize, out: &mut String) {
    let pretty = layout == Layout::Pretty;
    if pretty {
        for _ in 0..depth {
            out.push_str("  ");
        }
    }
    out.push('<');
    out.push_str(&el.name);
    for (k, v) in &el.attrs {
        let _ = write!(out, " {k}=\"{}\"", escape(v.as_str()));
    }
    if el.children.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    if el.has_elements() {
        for n in &el.children {
            match n {
                Node::Element(c) => {
                    if pretty {
                        out.push('\n');
                    }
                    render_element(c, layout, depth + 1, out);
                }
                Node::Text(t) => {
                    if !(pretty && t.trim().is_empty()) {
                        out.push_str(&escape(t.as_str()));
                    }
                }
            }
        }
        if pretty {
            out.push('\n');
            for _ in 0..depth {
                out.push_str("  ");
            }
        }
    } else {
        for n in &el.children {
            if let Node::Text(t) = n {
                out.push_str(&escape(t.as_str()));
            }
        }
    }
    out.push_str("</");
    out.push_str(&el.name);
    out.push('>');
}

/// A document written straight into its text in the pretty layout, byte for byte as
/// [`Document::render`] with [`Layout::Pretty`] renders the same tree, without building the
/// tree: an answer on the hot path costs one buffer instead of three allocations per value.
///
/// Elements are opened and closed in document order; [`PrettyWriter::leaf`] writes
/// `<name>value</name>` as [`Element::push_leaf`] builds it (`<name/>` for an empty value).
/// An element whose name and depth the code knows is written with the [`Tag`] that
/// [`tag!`](crate::tag) makes at compile time ([`PrettyWriter::open_tag`],
/// [`PrettyWriter::leaf_plain_tag`]): its newline, indentation and tags are then each one
/// piece of a known size, copied in a few moves.
#[derive(Debug)]
pub struct PrettyWriter<'n> {
    out: String,
    /// How the elements opened by [`PrettyWriter::open`] and [`PrettyWriter::open_tag`] and
    /// still open end, outermost first ([`PrettyWriter::within`] closes its own element).
    ends: Vec<End<'n>>,
    /// How many elements are open.
    depth: usize,
    /// Whether the innermost open element has nothing written in it yet (closed now, the `>`
    /// of its `<name>` becomes `/>`). Every other open element has a child.
    bare: bool,
}

/// How an open element of a [`PrettyWriter`] ends.
#[derive(Debug, Clone, Copy)]
enum End<'n> {
    /// `</name>` on its own line, written from the name.
    Name(&'n str),
    /// The newline, indentation and `</name>` made whole by [`tag!`](crate::tag).
    Tag(&'static str),
}

impl<'n> PrettyWriter<'n> {
    /// A document with this declaration; `capacity` bytes reserved for its text. Inlined: the
    /// declaration of a literal is copied in a few moves.
    #[inline]
    pub fn new(declaration: Declaration, capacity: usize) -> Self {
        let mut out = String::with_capacity(capacity);
        let decl = declaration.as_str();
        if !decl.is_empty() {
            out.push_str(decl);
            out.push('\n');
        }
        PrettyWriter {
            out,
            ends: Vec::new(),
            depth: 0,
            bare: false,
        }
    }

    /// A new line indented for `depth` open elements. Up to [`INDENT`]'s depth the whole of it
    /// is pushed and the text cut back: a copy of a fixed size is a few moves where a copy of
    /// the exact length calls `memcpy`.
    #[inline(always)]
    fn newline(&mut self, depth: usize) {
        let len = 1 + 2 * depth;
        if len <= INDENT.len() {
            let end = self.out.len() + len;
            self.out.push_str(INDENT);
            self.out.truncate(end);
        } else {
            self.out.push('\n');
            for _ in 0..depth {
                self.out.push_str("  ");
            }
        }
    }

    /// `<name>` of a new element, on its own line below the open one. Inlined, as
    /// [`PrettyWriter::leaf_plain`] is, so that a literal name is copied in a few moves, not
    /// by a `memcpy` call.
    #[inline(always)]
    fn start(&mut self, name: &str) {
        if self.depth > 0 {
            self.newline(self.depth);
        }
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        self.bare = false;
    }

    /// `</name>` of the element just closed (its name popped), on its own line.
    #[inline]
    fn end(&mut self, name: &str) {
        self.newline(self.depth);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    /// An element just started is open until [`PrettyWriter::close`], ending as `end` says.
    #[inline(always)]
    fn push_end(&mut self, end: End<'n>) {
        self.ends.push(end);
        self.depth += 1;
        self.bare = true;
    }

    /// Open an element (closed by [`PrettyWriter::close`]).
    #[inline(always)]
    pub fn open(&mut self, name: &'n str) {
        self.start(name);
        self.push_end(End::Name(name));
    }

    /// [`PrettyWriter::open`] of an element whose tags [`tag!`](crate::tag) made for the depth
    /// it is opened at (checked in debug builds): its line and its closing line are one copy
    /// each (~60 instructions less per element than from the name, callgrind).
    #[inline(always)]
    pub fn open_tag(&mut self, tag: Tag) {
        debug_assert_eq!(tag.depth, self.depth, "the depth of {}", tag.open);
        self.out.push_str(tag.open);
        self.push_end(End::Tag(tag.close));
    }

    /// The element of `tag` holding what `children` writes in it (`<name/>` when nothing):
    /// its line, `children`, then its closing line copied from the tag the compiler sees. Its
    /// end is not kept on the writer's stack (~20 instructions less than
    /// [`PrettyWriter::close`] reading it back; a document written only with `within` and
    /// leaves does not allocate that stack at all).
    #[inline(always)]
    pub fn within(&mut self, tag: Tag, children: impl FnOnce(&mut Self)) {
        debug_assert_eq!(tag.depth, self.depth, "the depth of {}", tag.open);
        self.out.push_str(tag.open);
        self.depth += 1;
        self.bare = true;
        children(self);
        debug_assert_eq!(self.depth, tag.depth + 1, "{} left open inside", tag.open);
        self.depth = tag.depth;
        if std::mem::replace(&mut self.bare, false) {
            self.out.pop();
            self.out.push_str("/>");
        } else {
            self.out.push_str(tag.close);
        }
    }

    /// Close the innermost element opened by [`PrettyWriter::open`] or
    /// [`PrettyWriter::open_tag`] (`<name/>` when nothing was written in it).
    #[inline(always)]
    pub fn close(&mut self) {
        let Some(end) = self.ends.pop() else {
            return;
        };
        self.depth -= 1;
        if std::mem::replace(&mut self.bare, false) {
            self.out.pop();
            self.out.push_str("/>");
        } else {
            match end {
                End::Name(name) => self.end(name),
                End::Tag(close) => self.out.push_str(close),
            }
        }
    }

    /// `<name>value</name>` (escaped), or `<name/>` when the value is empty.
    pub fn leaf(&mut self, name: &str, value: impl fmt::Display) {
        self.start(name);
        let at = self.out.len();
        let _ = write!(self.out, "{value}");
        if self.out.len() == at {
            self.out.pop();
            self.out.push_str("/>");
            return;
        }
        if self.out.as_bytes()[at..]
            .iter()
            .any(|b| matches!(b, b'<' | b'>' | b'&' | b'\'' | b'"'))
        {
            let escaped = escape(&self.out[at..]).into_owned();
            self.out.truncate(at);
            self.out.push_str(&escaped);
        }
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    /// `<name>value</name>` of a number or an amount, written straight into the text: the same
    /// bytes as [`PrettyWriter::leaf`] writes for it, without the formatting machinery (an
    /// answer on the hot path holds many of them; `write!` cost more than the rest of a leaf).
    /// Always inlined: quickstats_get's fourteen leaves cost ~1,300 instructions less than
    /// through calls (callgrind, per request).
    #[inline(always)]
    pub fn leaf_plain(&mut self, name: &str, value: impl Plain) {
        self.start(name);
        value.push_plain(&mut self.out);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    /// [`PrettyWriter::leaf_plain`] of an element whose tags [`tag!`](crate::tag) made for the
    /// depth it is written at (checked in debug builds): three pieces copied where the name
    /// and the depth make eight.
    #[inline(always)]
    pub fn leaf_plain_tag(&mut self, tag: Tag, value: impl Plain) {
        debug_assert_eq!(tag.depth, self.depth, "the depth of {}", tag.open);
        self.out.push_str(tag.open);
        value.push_plain(&mut self.out);
        self.out.push_str(tag.end);
        self.bare = false;
    }

    /// The text: every element still open closed, and the final newline. Always inlined: the
    /// writer is not moved into a call (~150 instructions, callgrind).
    #[inline(always)]
    pub fn finish(mut self) -> String {
        while !self.ends.is_empty() {
            self.close();
        }
        self.out.push('\n');
        self.out
    }
}

/// An element's tags for a known depth, made at compile time by [`tag!`](crate::tag) for
/// [`PrettyWriter::open_tag`] and [`PrettyWriter::leaf_plain_tag`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag {
    /// How many elements are open around it (0 for the root).
    pub depth: usize,
    /// `<name>` on a new line indented for the depth (the root's on the line it is at).
    pub open: &'static str,
    /// `</name>` after a value.
    pub end: &'static str,
    /// `</name>` on a new line indented for the depth, after child elements.
    pub close: &'static str,
}

/// The [`Tag`] of a literal element name at a literal depth from 0 to 8: `tag!(3, "calls")`
/// holds `"\n      <calls>"`, `"</calls>"` and `"\n      </calls>"`.
#[macro_export]
macro_rules! tag {
    (0, $name:literal) => {
        $crate::xml::Tag {
            depth: 0,
            open: concat!("<", $name, ">"),
            end: concat!("</", $name, ">"),
            close: concat!("\n</", $name, ">"),
        }
    };
    ($depth:tt, $name:literal) => {
        $crate::xml::Tag {
            depth: $depth,
            open: concat!("\n", $crate::__indent!($depth), "<", $name, ">"),
            end: concat!("</", $name, ">"),
            close: concat!("\n", $crate::__indent!($depth), "</", $name, ">"),
        }
    };
}

/// The indentation of a depth from 1 to 8, as a literal (for [`tag!`](crate::tag)).
#[doc(hidden)]
#[macro_export]
macro_rules! __indent {
    (1) => {
        "  "
    };
    (2) => {
        "    "
    };
    (3) => {
        "      "
    };
    (4) => {
        "        "
    };
    (5) => {
        "          "
    };
    (6) => {
        "            "
    };
    (7) => {
        "              "
    };
    (8) => {
        "                "
    };
}

/// A newline and the indentation of elements 16 deep ([`PrettyWriter::newline`]; deeper ones
/// are indented a level at a time).
const INDENT: &str = "\n                                ";

/// A value whose text is never empty and never needs escaping (digits, a sign, a decimal
/// point), written by [`PrettyWriter::leaf_plain`] exactly as its `Display` writes it.
pub trait Plain {
    /// Append the value's text, as `Display` writes it, to `out`.
    fn push_plain(&self, out: &mut String);
}

/// The decimal digits of `n` at the end of `buf`, preceded by `-` when `negative`; returns where
/// they start.
pub(crate) fn digits_into(buf: &mut [u8], mut n: u64, negative: bool) -> usize {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if negative {
        i -= 1;
        buf[i] = b'-';
    }
    i
}

/// The decimal digits of `n` appended to `out`. Up to three digits are pushed one at a time:
/// itoa's text of a short number is copied by a `memcpy` call of an unknown length, which costs
/// more (~20 instructions less per short value, callgrind).
#[inline(always)]
pub(crate) fn push_digits(out: &mut String, n: u64) {
    fn digit(d: u64) -> char {
        char::from(b'0' + (d % 10) as u8)
    }
    if n < 1000 {
        if n >= 100 {
            out.push(digit(n / 100));
        }
        if n >= 10 {
            out.push(digit(n / 10));
        }
        out.push(digit(n));
    } else {
        // itoa: the digits as a str without checking them again.
        out.push_str(itoa::Buffer::new().format(n));
    }
}

macro_rules! plain_unsigned {
    ($($t:ty),*) => {$(
        impl Plain for $t {
            #[inline(always)]
            fn push_plain(&self, out: &mut String) {
                push_digits(out, *self as u64);
            }
        }
    )*};
}

macro_rules! plain_signed {
    ($($t:ty),*) => {$(
        impl Plain for $t {
            #[inline(always)]
            fn push_plain(&self, out: &mut String) {
                if *self < 0 {
                    out.push('-');
                }
                push_digits(out, self.unsigned_abs() as u64);
            }
        }
    )*};
}

plain_unsigned!(u8, u16, u32, u64, usize);
plain_signed!(i8, i16, i32, i64, isize);

/// The tree of a document [`PrettyWriter`] wrote: parsed back, without the layout's whitespace
/// between elements, so it equals the tree that renders to that text (values holding a carriage
/// return aside: XML parsing normalises line ends).
pub fn parse_pretty(text: &str) -> Result<Document, XmlError> {
    fn strip(el: &mut Element) {
        if el.has_elements() {
            el.children.retain(|n| match n {
                Node::Text(t) => !t.trim().is_empty(),
                Node::Element(_) => true,
            });
            for n in &mut el.children {
                if let Node::Element(c) = n {
                    strip(c);
                }
            }
        }
    }
    let mut doc = parse(text)?;
    strip(&mut doc.root);
    Ok(doc)
}

/// Why a body is not well-formed XML.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("not well-formed XML at byte {position}: {message}")]
pub struct XmlError {
    /// Byte offset where parsing stopped.
    pub position: u64,
    /// What went wrong.
    pub message: String,
}

/// Parse an XML document. The declaration is recognised as one of the documented ones
/// ([`Declaration::Utf8`] for any other declaration); comments, processing instructions and
/// doctypes are dropped; exactly one root element is required.
pub fn parse(text: &str) -> Result<Document, XmlError> {
    let mut reader = Reader::from_str(text);
    let mut declaration = Declaration::None;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let err = |r: &Reader<&[u8]>, m: String| XmlError {
        position: r.buffer_position(),
        message: m,
    };
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| err(&reader, e.to_string()))?;
        match ev {
            Event::Decl(d) => {
                let standalone = d
                    .standalone()
                    .and_then(|s| s.ok())
                    .is_some_and(|v| v.as_ref() == b"yes");
                declaration = if standalone {
                    Declaration::Standalone
                } else {
                    Declaration::Utf8
                };
            }
            Event::Start(s) => {
                if root.is_some() {
                    return Err(err(&reader, "content after the root element".into()));
                }
                stack.push(start_element(&s).map_err(|m| err(&reader, m))?);
            }
            Event::Empty(s) => {
                let el = start_element(&s).map_err(|m| err(&reader, m))?;
                close(&mut stack, &mut root, el).map_err(|m| err(&reader, m))?;
            }
            Event::End(_) => {
                let el = stack
                    .pop()
                    .ok_or_else(|| err(&reader, "unexpected end tag".into()))?;
                close(&mut stack, &mut root, el).map_err(|m| err(&reader, m))?;
            }
            Event::Text(t) => {
                let s = t.xml_content().map_err(|e| err(&reader, e.to_string()))?;
                push_text(&mut stack, &s, &reader)?;
            }
            Event::CData(t) => {
                let s = t.decode().map_err(|e| err(&reader, e.to_string()))?;
                push_text(&mut stack, &s, &reader)?;
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => {
                        let name = r.decode().map_err(|e| err(&reader, e.to_string()))?;
                        match name.as_ref() {
                            "amp" => "&".into(),
                            "lt" => "<".into(),
                            "gt" => ">".into(),
                            "quot" => "\"".into(),
                            "apos" => "'".into(),
                            other => {
                                return Err(err(&reader, format!("unknown entity `&{other};`")))
                            }
                        }
                    }
                    Err(e) => return Err(err(&reader, e.to_string())),
                };
                push_text(&mut stack, &resolved, &reader)?;
            }
            Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(XmlError {
            position: reader.buffer_position(),
            message: format!("unclosed element <{}>", stack[stack.len() - 1].name),
        });
    }
    let root = root.ok_or_else(|| XmlError {
        position: reader.buffer_position(),
        message: "no root element".into(),
    })?;
    Ok(Document { declaration, root })
}

fn push_text(stack: &mut [Element], s: &str, reader: &Reader<&[u8]>) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(top) => {
            // Entity references arrive as separate events: join adjacent text.
            if let Some(Node::Text(prev)) = top.children.last_mut() {
                prev.push_str(s);
            } else {
                top.children.push(Node::Text(s.to_string()));
            }
            Ok(())
        }
        None if s.trim().is_empty() => Ok(()),
        None => Err(XmlError {
            position: reader.buffer_position(),
            message: "text outside the root element".into(),
        }),
    }
}

fn start_element(s: &quick_xml::events::BytesStart<'_>) -> Result<Element, String> {
    let name = String::from_utf8_lossy(s.name().as_ref()).into_owned();
    // quick-xml reads `< />` as an element named "", which renders as `</>` and cannot be read
    // back (found by the `xml` fuzz target).
    if name.is_empty() {
        return Err("an element without a name".into());
    }
    let mut el = Element::new(name);
    for a in s.attributes() {
        let a = a.map_err(|e| e.to_string())?;
        let k = String::from_utf8_lossy(a.key.as_ref()).into_owned();
        let v = a.unescape_value().map_err(|e| e.to_string())?.into_owned();
        el.attrs.push((k, v));
    }
    Ok(el)
}

fn close(stack: &mut [Element], root: &mut Option<Element>, el: Element) -> Result<(), String> {
    match stack.last_mut() {
        Some(parent) => {
            parent.children.push(Node::Element(el));
            Ok(())
        }
        None if root.is_none() => {
            *root = Some(el);
            Ok(())
        }
        None => Err("more than one root element".into()),
    }
}

/// The canonical tree of an element: text trimmed, whitespace-only text dropped, attributes
/// sorted. Idempotent.
pub fn canonicalize(el: &Element) -> Element {
    let mut attrs = el.attrs.clone();
    attrs.sort();
    let mut children = Vec::with_capacity(el.children.len());
    let mixed = el.has_elements();
    for n in &el.children {
        match n {
            Node::Element(c) => children.push(Node::Element(canonicalize(c))),
            Node::Text(t) => {
                let t = t.trim();
                if !t.is_empty() {
                    if let Some(Node::Text(prev)) = children.last_mut() {
                        prev.push_str(t);
                    } else {
                        children.push(Node::Text(t.to_string()));
                    }
                } else if !mixed {
                    // Whitespace-only text in a leaf is kept as nothing: `<a> </a>` == `<a/>`.
                }
            }
        }
    }
    Element {
        name: el.name.clone(),
        attrs,
        children,
    }
}

/// The canonical text of an XML document (see the module documentation).
pub fn canonical(text: &str) -> Result<String, XmlError> {
    let doc = parse(text)?;
    Ok(canonical_element(&doc.root))
}

/// The canonical text of an element tree.
pub fn canonical_element(el: &Element) -> String {
    let mut out = String::new();
    render_element(&canonicalize(el), Layout::Pretty, 0, &mut out);
    out.push('\n');
    out
}

/// A value placeholder usable in expected XML: `{{any}}`, `{{text}}`, `{{int}}`, `{{number}}`,
/// `{{date}}`, `{{datetime}}`, `{{hex40}}`, and `{{subtree}}` (any content at all).
pub fn placeholder_matches(placeholder: &str, actual: &str) -> Option<bool> {
    let inner = placeholder.strip_prefix("{{")?.strip_suffix("}}")?.trim();
    Some(match inner {
        "any" | "text" | "subtree" => true,
        "int" => is_int(actual),
        "number" => is_number(actual),
        "date" => is_date(actual),
        "datetime" => is_datetime(actual),
        "hex40" => actual.len() == 40 && actual.bytes().all(|b| b.is_ascii_hexdigit()),
        _ => return None,
    })
}

fn is_int(s: &str) -> bool {
    let d = s.strip_prefix('-').unwrap_or(s);
    !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())
}

fn is_number(s: &str) -> bool {
    let d = s.strip_prefix('-').unwrap_or(s);
    let mut parts = d.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    let ok_int = !int.is_empty() && int.bytes().all(|b| b.is_ascii_digit());
    match frac {
        None => ok_int,
        Some(f) => ok_int && !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()),
    }
}

fn is_date(s: &str) -> bool {
    is_date_bytes(s.as_bytes())
}

fn is_date_bytes(b: &[u8]) -> bool {
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

fn is_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    // Bytes, not `&s[..10]`: byte 10 may fall inside a multi-byte character (found by the `xml`
    // fuzz target: a 19-byte value with `¼` at bytes 9..11 panicked).
    b.len() == 19
        && is_date_bytes(&b[..10])
        && b[10] == b' '
        && b[13] == b':'
        && b[16] == b':'
        && b[11..]
            .iter()
            .enumerate()
            .all(|(i, c)| i == 2 || i == 5 || c.is_ascii_digit())
}

/// The type of a value, as structural checks see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    /// No text.
    Empty,
    /// A number (integer or decimal).
    Number,
    /// `YYYY-MM-DD`.
    Date,
    /// `YYYY-MM-DD HH:MM:SS`.
    DateTime,
    /// Anything else.
    Text,
}

impl ValueType {
    /// Classify a value.
    pub fn of(s: &str) -> ValueType {
        let s = s.trim();
        if s.is_empty() {
            ValueType::Empty
        } else if is_number(s) {
            ValueType::Number
        } else if is_datetime(s) {
            ValueType::DateTime
        } else if is_date(s) {
            ValueType::Date
        } else {
            ValueType::Text
        }
    }

    /// The placeholder that accepts values of this type.
    pub fn placeholder(self) -> &'static str {
        match self {
            ValueType::Empty | ValueType::Text => "{{any}}",
            ValueType::Number => "{{number}}",
            ValueType::Date => "{{date}}",
            ValueType::DateTime => "{{datetime}}",
        }
    }
}

/// The shape of a tree: every value replaced by its type's placeholder (attributes too).
pub fn shape(el: &Element) -> Element {
    let el = canonicalize(el);
    fn go(el: &Element) -> Element {
        Element {
            name: el.name.clone(),
            attrs: el
                .attrs
                .iter()
                .map(|(k, v)| (k.clone(), ValueType::of(v).placeholder().to_string()))
                .collect(),
            children: if el.has_elements() {
                el.elements().map(|c| Node::Element(go(c))).collect()
            } else {
                vec![Node::Text(
                    ValueType::of(&el.text_content()).placeholder().to_string(),
                )]
            },
        }
    }
    go(&el)
}

/// `canonical_element(&shape(el))` written in one pass, without the intermediate trees (a props
/// run compares the shape of every answer).
pub fn shape_text(el: &Element) -> String {
    fn go(el: &Element, depth: usize, out: &mut String) {
        for _ in 0..depth {
            out.push_str("  ");
        }
        out.push('<');
        out.push_str(&el.name);
        if !el.attrs.is_empty() {
            let mut attrs: Vec<(&str, &str)> = el
                .attrs
                .iter()
                .map(|(k, v)| (k.as_str(), ValueType::of(v).placeholder()))
                .collect();
            attrs.sort_unstable();
            for (k, v) in attrs {
                let _ = write!(out, " {k}=\"{}\"", escape(v));
            }
        }
        out.push('>');
        if el.has_elements() {
            for c in el.elements() {
                out.push('\n');
                go(c, depth + 1, out);
            }
            out.push('\n');
            for _ in 0..depth {
                out.push_str("  ");
            }
        } else {
            // The canonical text: each text node trimmed, the non-empty ones joined.
            let mut texts = el.children.iter().filter_map(|n| match n {
                Node::Text(t) if !t.trim().is_empty() => Some(t.trim()),
                _ => None,
            });
            let value = match (texts.next(), texts.next()) {
                (None, _) => ValueType::Empty,
                (Some(one), None) => ValueType::of(one),
                (Some(a), Some(b)) => {
                    let mut joined = format!("{a}{b}");
                    for t in texts {
                        joined.push_str(t);
                    }
                    ValueType::of(&joined)
                }
            };
            out.push_str(&escape(value.placeholder()));
        }
        out.push_str("</");
        out.push_str(&el.name);
        out.push('>');
    }
    let mut out = String::with_capacity(256);
    go(el, 0, &mut out);
    out.push('\n');
    out
}

/// How two trees are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffMode {
    /// Same elements in the same order with the same values (placeholders in the expected tree
    /// match by type).
    Exact,
    /// Same element names and nesting with values of the same type; the children of a list
    /// element (one whose children all share a name) may differ in number, each compared against
    /// the first expected child.
    Structure,
}

/// The first difference between two trees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// Path of the differing node: `/page/calls/call[2]/dst`, `/page/payment/@currency`.
    pub path: String,
    /// What was expected there.
    pub expected: String,
    /// What was found.
    pub actual: String,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: expected {}, got {}",
            self.path, self.expected, self.actual
        )
    }
}

/// Compare two trees in canonical form; `None` when they agree.
pub fn diff(expected: &Element, actual: &Element, mode: DiffMode) -> Option<Difference> {
    let e = canonicalize(expected);
    let a = canonicalize(actual);
    if e.name != a.name {
        return Some(Difference {
            path: "/".into(),
            expected: format!("root <{}>", e.name),
            actual: format!("root <{}>", a.name),
        });
    }
    diff_el(&e, &a, &format!("/{}", e.name), mode)
}

fn value_matches(expected: &str, actual: &str, mode: DiffMode) -> bool {
    if let Some(m) = placeholder_matches(expected, actual) {
        return m;
    }
    match mode {
        DiffMode::Exact => expected == actual,
        DiffMode::Structure => {
            let (te, ta) = (ValueType::of(expected), ValueType::of(actual));
            te == ta || te == ValueType::Empty || ta == ValueType::Empty
        }
    }
}

fn show(v: &str) -> String {
    if v.is_empty() {
        "nothing".into()
    } else {
        v.to_string()
    }
}

fn diff_el(e: &Element, a: &Element, path: &str, mode: DiffMode) -> Option<Difference> {
    for (k, ev) in &e.attrs {
        let p = format!("{path}/@{k}");
        match a.attrs.iter().find(|(ak, _)| ak == k) {
            None => {
                return Some(Difference {
                    path: p,
                    expected: show(ev),
                    actual: "no attribute".into(),
                })
            }
            Some((_, av)) if !value_matches(ev, av, mode) => {
                return Some(Difference {
                    path: p,
                    expected: show(ev),
                    actual: show(av),
                })
            }
            _ => {}
        }
    }
    if mode == DiffMode::Exact {
        if let Some((k, v)) = a
            .attrs
            .iter()
            .find(|(k, _)| !e.attrs.iter().any(|(ek, _)| ek == k))
        {
            return Some(Difference {
                path: format!("{path}/@{k}"),
                expected: "no attribute".into(),
                actual: show(v),
            });
        }
    }
    let et = e.text_content();
    if et.trim() == "{{subtree}}" {
        return None;
    }
    if !e.has_elements() && !a.has_elements() {
        let at = a.text_content();
        if !value_matches(&et, &at, mode) {
            return Some(Difference {
                path: path.into(),
                expected: show(&et),
                actual: show(&at),
            });
        }
        return None;
    }
    let ec: Vec<&Element> = e.elements().collect();
    let ac: Vec<&Element> = a.elements().collect();
    if ec.is_empty() {
        return Some(Difference {
            path: path.into(),
            expected: show(&et),
            actual: format!("element <{}>", ac[0].name),
        });
    }
    let is_list = mode == DiffMode::Structure && ec.iter().all(|c| c.name == ec[0].name);
    if is_list {
        if let Some(bad) = ac.iter().find(|c| c.name != ec[0].name) {
            return Some(Difference {
                path: format!("{path}/{}", bad.name),
                expected: format!("only <{}> elements", ec[0].name),
                actual: format!("element <{}>", bad.name),
            });
        }
        // A sample lists a repeated element once: that one is the template of every item. An
        // expected list of several items is compared item by item (the last one serving any
        // extra items), so a tree never differs from its own shape.
        for (i, c) in ac.iter().enumerate() {
            let p = child_path(path, &ac, i);
            let template = ec[i.min(ec.len() - 1)];
            if let Some(d) = diff_el(template, c, &p, mode) {
                return Some(d);
            }
        }
        return None;
    }
    if mode == DiffMode::Structure {
        return diff_runs(&ec, &ac, path, mode);
    }
    for i in 0..ec.len().max(ac.len()) {
        match (ec.get(i), ac.get(i)) {
            (Some(x), Some(y)) if x.name == y.name => {
                if let Some(d) = diff_el(x, y, &child_path(path, &ec, i), mode) {
                    return Some(d);
                }
            }
            (Some(x), Some(y)) => {
                return Some(Difference {
                    path: child_path(path, &ec, i),
                    expected: format!("element <{}>", x.name),
                    actual: format!("element <{}>", y.name),
                })
            }
            (Some(x), None) => {
                return Some(Difference {
                    path: child_path(path, &ec, i),
                    expected: format!("element <{}>", x.name),
                    actual: "nothing".into(),
                })
            }
            (None, Some(y)) => {
                return Some(Difference {
                    path: child_path(path, &ac, i),
                    expected: "nothing".into(),
                    actual: format!("element <{}>", y.name),
                })
            }
            (None, None) => {}
        }
    }
    None
}

/// The runs of consecutive same-named elements: (first index, length).
fn runs(v: &[&Element]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for (i, e) in v.iter().enumerate() {
        match out.last_mut() {
            Some((start, len)) if v[*start].name == e.name => *len += 1,
            _ => out.push((i, 1)),
        }
    }
    out
}

/// Mixed children compared structurally, run by run: a sample lists a repeated element once
/// (an invoice's `<Product>` after its `<id>` and `<paid>`), so a run of one or more elements of
/// a name answers a run of that name, each item compared against the expected item at its
/// place (the last serving any extra). Runs must come in the same order, none missing or added.
fn diff_runs(ec: &[&Element], ac: &[&Element], path: &str, mode: DiffMode) -> Option<Difference> {
    let (er, ar) = (runs(ec), runs(ac));
    for k in 0..er.len().max(ar.len()) {
        match (er.get(k), ar.get(k)) {
            (Some(&(es, elen)), Some(&(a0, alen))) if ec[es].name == ac[a0].name => {
                for i in 0..alen {
                    let template = ec[es + i.min(elen - 1)];
                    let p = child_path(path, ac, a0 + i);
                    if let Some(d) = diff_el(template, ac[a0 + i], &p, mode) {
                        return Some(d);
                    }
                }
            }
            (Some(&(es, _)), Some(&(a0, _))) => {
                return Some(Difference {
                    path: child_path(path, ec, es),
                    expected: format!("element <{}>", ec[es].name),
                    actual: format!("element <{}>", ac[a0].name),
                })
            }
            (Some(&(es, _)), None) => {
                return Some(Difference {
                    path: child_path(path, ec, es),
                    expected: format!("element <{}>", ec[es].name),
                    actual: "nothing".into(),
                })
            }
            (None, Some(&(a0, _))) => {
                return Some(Difference {
                    path: child_path(path, ac, a0),
                    expected: "nothing".into(),
                    actual: format!("element <{}>", ac[a0].name),
                })
            }
            (None, None) => {}
        }
    }
    None
}

/// `/parent/name` or `/parent/name[k]` (1-based, XPath style) when siblings share the name.
fn child_path(parent: &str, siblings: &[&Element], i: usize) -> String {
    let name = &siblings[i].name;
    let same = siblings.iter().filter(|s| &s.name == name).count();
    if same > 1 {
        let k = siblings[..=i].iter().filter(|s| &s.name == name).count();
        format!("{parent}/{name}[{k}]")
    } else {
        format!("{parent}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const QUICKSTATS: &str = r#"<?xml version="1.0" encoding="UTF-8"?> <page> <quickstats> <today> <calls>4</calls> <duration>345</duration> <revenue>1.4475</revenue> </today> </quickstats> </page>"#;

    /// Regression (fuzz target `xml`, input `< />`): an element named "" parsed, and its
    /// canonical text `</>` did not parse back.
    #[test]
    fn a_repeated_element_among_others_matches_the_sample_s_one_structurally() {
        let sample = parse("<Invoices><Invoice><id>{{int}}</id><Product><Name>{{text}}</Name></Product></Invoice></Invoices>")
            .expect("sample parses");
        let two = parse("<Invoices><Invoice><id>1</id><Product><Name>a</Name></Product><Product><Name>b</Name></Product></Invoice><Invoice><id>2</id><Product><Name>c</Name></Product></Invoice></Invoices>")
            .expect("answer parses");
        assert_eq!(diff(&sample.root, &two.root, DiffMode::Structure), None);
        // A repeated item is still checked, and a run still may not be missing or misplaced.
        let bad = parse("<Invoices><Invoice><id>1</id><Product><Name>a</Name></Product><Product><Nom>b</Nom></Product></Invoice></Invoices>")
            .expect("answer parses");
        assert_eq!(
            diff(&sample.root, &bad.root, DiffMode::Structure).map(|d| d.path),
            Some("/Invoices/Invoice/Product[2]/Nom".into())
        );
        let missing = parse("<Invoices><Invoice><id>1</id></Invoice></Invoices>").expect("parses");
        assert!(diff(&sample.root, &missing.root, DiffMode::Structure).is_some());
        let swapped = parse(
            "<Invoices><Invoice><Product><Name>a</Name></Product><id>1</id></Invoice></Invoices>",
        )
        .expect("parses");
        assert!(diff(&sample.root, &swapped.root, DiffMode::Structure).is_some());
        // Exact comparison is unchanged: one expected, two found.
        assert!(diff(&sample.root, &two.root, DiffMode::Exact).is_some());
    }

    #[test]
    fn a_path_segment_with_an_index_names_the_nth_element_of_that_name() {
        let doc = parse("<page><dids><did><n>1</n></did><x/><did><n>2</n></did></dids></page>")
            .expect("test XML parses");
        assert_eq!(
            doc.root
                .at("dids/did/n")
                .map(Element::text_content)
                .as_deref(),
            Some("1")
        );
        assert_eq!(
            doc.root
                .at("dids/did[2]/n")
                .map(Element::text_content)
                .as_deref(),
            Some("2")
        );
        assert!(doc.root.at("dids/did[3]").is_none());
        assert!(doc.root.at("dids/did[0]").is_none());
        assert!(doc.root.at("dids/did[x]").is_none());
    }

    #[test]
    fn a_path_segment_with_last_names_the_last_element_of_that_name() {
        let doc = parse("<page><dids><did><n>1</n></did><x/><did><n>2</n></did><x/></dids></page>")
            .expect("test XML parses");
        assert_eq!(
            doc.root
                .at("dids/did[last]/n")
                .map(Element::text_content)
                .as_deref(),
            Some("2")
        );
        assert!(doc.root.at("dids/y[last]").is_none());
        let empty = parse("<page><dids/></page>").expect("test XML parses");
        assert!(empty.root.at("dids/did[last]").is_none());
    }

    #[test]
    fn an_element_without_a_name_is_not_well_formed() {
        assert!(parse("< />").is_err());
        assert!(parse("<page>< /></page>").is_err());
        assert!(canonical("< />").is_err());
    }

    /// Regression (fuzz target `xml`): a 19-byte value with a multi-byte character across byte 10
    /// panicked in the datetime test of structural comparison.
    #[test]
    fn a_value_with_a_multibyte_character_at_byte_ten_is_text_not_a_panic() {
        let value = "aaaaaaaaa\u{bc}bbbbbbbb";
        assert_eq!(value.len(), 19);
        assert_eq!(ValueType::of(value), ValueType::Text);
        assert_eq!(placeholder_matches("{{datetime}}", value), Some(false));
        let e = parse("<page><v>2026-11-23 12:00:00</v></page>")
            .unwrap()
            .root;
        let a = parse(&format!("<page><v>{value}</v></page>")).unwrap().root;
        assert!(diff(&e, &a, DiffMode::Structure).is_some());
    }

    #[test]
    fn the_diff_names_the_path_of_the_first_difference() {
        let e = parse(QUICKSTATS).unwrap().root;
        let a = parse(&QUICKSTATS.replace("1.4475", "1.4476")).unwrap().root;
        let d = diff(&e, &a, DiffMode::Exact).unwrap();
        assert_eq!(
            d.to_string(),
            "/page/quickstats/today/revenue: expected 1.4475, got 1.4476"
        );
    }

    #[test]
    fn a_list_of_differently_shaped_items_has_no_difference_with_its_shape() {
        // Found by the property test below: every item was compared with the first one.
        let t = parse("<a><d><a/><a_/></d><d/></a>").unwrap().root;
        assert_eq!(diff(&t, &t, DiffMode::Structure), None);
        let sample = parse("<l><i><x>{{int}}</x></i></l>").unwrap().root;
        let bad = parse("<l><i><x>1</x></i><i><x>y</x></i></l>").unwrap().root;
        assert_eq!(
            diff(&sample, &bad, DiffMode::Structure).unwrap().path,
            "/l/i[2]/x"
        );
    }

    #[test]
    fn canonical_form_ignores_whitespace_attribute_order_and_declaration() {
        let a = r#"<?xml version="1.0" encoding="UTF-8"?><page><p b="2" a="1"> x </p></page>"#;
        let b = "<page>\n  <p a=\"1\" b=\"2\">x</p>\n</page>";
        assert_eq!(canonical(a).unwrap(), canonical(b).unwrap());
    }

    #[test]
    fn number_formatting_is_left_exact() {
        assert_ne!(
            canonical("<a>1.4475</a>").unwrap(),
            canonical("<a>1.44750</a>").unwrap()
        );
    }

    #[test]
    fn placeholders_match_by_type() {
        let e = parse("<page><n>{{number}}</n><d>{{datetime}}</d></page>")
            .unwrap()
            .root;
        let ok = parse("<page><n>-1.5</n><d>2026-11-23 10:00:00</d></page>")
            .unwrap()
            .root;
        let bad = parse("<page><n>abc</n><d>2026-11-23 10:00:00</d></page>")
            .unwrap()
            .root;
        assert_eq!(diff(&e, &ok, DiffMode::Exact), None);
        assert_eq!(diff(&e, &bad, DiffMode::Exact).unwrap().path, "/page/n");
    }

    #[test]
    fn repeated_siblings_are_indexed_in_paths() {
        let e = parse("<calls><call><dst>1</dst></call><call><dst>2</dst></call></calls>").unwrap();
        let a = parse("<calls><call><dst>1</dst></call><call><dst>3</dst></call></calls>").unwrap();
        let d = diff(&e.root, &a.root, DiffMode::Exact).unwrap();
        assert_eq!(d.path, "/calls/call[2]/dst");
    }

    #[test]
    fn structure_mode_accepts_other_values_and_list_lengths() {
        let e =
            parse("<page><calls><call><dst>1</dst></call></calls><total>2</total></page>").unwrap();
        let a = parse("<page><calls><call><dst>7</dst></call><call><dst>8</dst></call></calls><total>9.5</total></page>").unwrap();
        assert_eq!(diff(&e.root, &a.root, DiffMode::Structure), None);
        let wrong = parse("<page><calls/><total>x</total></page>").unwrap();
        assert_eq!(
            diff(&e.root, &wrong.root, DiffMode::Structure)
                .unwrap()
                .path,
            "/page/total"
        );
    }

    #[test]
    fn entities_and_declarations_are_parsed() {
        let d = parse("<?xml version=\"1.0\" encoding=\"utf-8\" standalone=\"yes\"?><a>&quot;103&quot; &lt;103&gt;</a>").unwrap();
        assert_eq!(d.declaration, Declaration::Standalone);
        assert_eq!(d.root.text_content(), "\"103\" <103>");
        assert!(parse("<a><b></a>").is_err());
        assert!(parse("plain text").is_err());
        assert!(parse("<a/><b/>").is_err());
    }

    fn arb_element() -> impl Strategy<Value = Element> {
        let leaf = (
            "[a-z][a-z_]{0,6}",
            "[ -~]{0,8}",
            proptest::collection::vec(("[a-z]{1,4}", "[ -~]{0,5}"), 0..2),
        )
            .prop_map(|(n, t, attrs)| {
                let mut e = Element::new(n);
                let mut seen = std::collections::BTreeSet::new();
                for (k, v) in attrs {
                    if seen.insert(k.clone()) {
                        e.attrs.push((k, v));
                    }
                }
                if !t.trim().is_empty() {
                    e.children.push(Node::Text(t.trim().to_string()));
                }
                e
            });
        leaf.prop_recursive(3, 24, 4, |inner| {
            ("[a-z][a-z_]{0,6}", proptest::collection::vec(inner, 1..4)).prop_map(|(n, kids)| {
                let mut e = Element::new(n);
                for k in kids {
                    e.push(k);
                }
                e
            })
        })
    }

    /// Write a tree (without attributes) through the writer.
    fn write_tree<'a>(w: &mut PrettyWriter<'a>, el: &'a Element) {
        if el.has_elements() {
            w.open(&el.name);
            for c in el.elements() {
                write_tree(w, c);
            }
            w.close();
        } else {
            w.leaf(&el.name, el.text_content());
        }
    }

    fn without_attrs(el: &mut Element) {
        el.attrs.clear();
        for n in &mut el.children {
            if let Node::Element(c) = n {
                without_attrs(c);
            }
        }
    }

    #[test]
    fn the_writer_writes_what_the_tree_renders() {
        let root = Element::new("page")
            .child(
                Element::new("quickstats")
                    .child(Element::new("today").leaf("calls", 4).leaf("empty", ""))
                    .leaf("name", "A & <B> \"c\" 'd'"),
            )
            .child(Element::new("nothing"));
        for declaration in [
            Declaration::Utf8,
            Declaration::Standalone,
            Declaration::None,
        ] {
            let doc = Document {
                declaration,
                root: root.clone(),
            };
            let mut w = PrettyWriter::new(declaration, 16);
            write_tree(&mut w, &doc.root);
            let text = w.finish();
            assert_eq!(text, doc.render(Layout::Pretty));
            assert_eq!(parse_pretty(&text).expect("it parses"), doc);
        }
        // Deep nesting.
        let mut deep = Element::new("d19").leaf("v", 1);
        for i in (0..19).rev() {
            deep = Element::new(format!("d{i}")).child(deep);
        }
        let doc = Document::new(deep);
        let mut w = PrettyWriter::new(doc.declaration, 0);
        write_tree(&mut w, &doc.root);
        assert_eq!(w.finish(), doc.render(Layout::Pretty));
        // Elements left open are closed by finish.
        let mut w = PrettyWriter::new(Declaration::None, 0);
        w.open("a");
        w.open("b");
        assert_eq!(w.finish(), "<a>\n  <b/>\n</a>\n");
    }

    #[test]
    fn tagged_elements_are_written_as_named_ones() {
        let named = |declaration| {
            let mut w = PrettyWriter::new(declaration, 0);
            w.open("page");
            w.open("stats");
            w.leaf_plain("calls", 14u64);
            w.leaf("currency", "EUR");
            w.open("empty");
            w.close();
            w.close();
            w.leaf_plain("margin", -3i64);
            w.open("none");
            w.finish()
        };
        let tagged = |declaration| {
            let mut w = PrettyWriter::new(declaration, 0);
            w.open_tag(crate::tag!(0, "page"));
            w.open_tag(crate::tag!(1, "stats"));
            w.leaf_plain_tag(crate::tag!(2, "calls"), 14u64);
            w.leaf("currency", "EUR");
            w.open_tag(crate::tag!(2, "empty"));
            w.close();
            w.close();
            w.leaf_plain_tag(crate::tag!(1, "margin"), -3i64);
            w.open_tag(crate::tag!(1, "none"));
            w.finish()
        };
        for declaration in [Declaration::Utf8, Declaration::None] {
            assert_eq!(tagged(declaration), named(declaration));
        }
        assert_eq!(
            named(Declaration::None),
            "<page>\n  <stats>\n    <calls>14</calls>\n    <currency>EUR</currency>\n    \
             <empty/>\n  </stats>\n  <margin>-3</margin>\n  <none/>\n</page>\n"
        );
        let mut root = PrettyWriter::new(Declaration::None, 0);
        root.open_tag(crate::tag!(0, "page"));
        assert_eq!(root.finish(), "<page/>\n");
        let within = |declaration| {
            let mut w = PrettyWriter::new(declaration, 0);
            w.within(crate::tag!(0, "page"), |w| {
                w.within(crate::tag!(1, "stats"), |w| {
                    w.leaf_plain_tag(crate::tag!(2, "calls"), 14u64);
                    w.leaf("currency", "EUR");
                    w.within(crate::tag!(2, "empty"), |_| {});
                });
                w.leaf_plain_tag(crate::tag!(1, "margin"), -3i64);
                w.within(crate::tag!(1, "none"), |_| {});
            });
            w.finish()
        };
        for declaration in [Declaration::Utf8, Declaration::None] {
            assert_eq!(within(declaration), named(declaration));
        }
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "the depth of")]
    fn a_tag_made_for_another_depth_is_refused_in_debug_builds() {
        let mut w = PrettyWriter::new(Declaration::None, 0);
        w.open_tag(crate::tag!(0, "page"));
        w.leaf_plain_tag(crate::tag!(2, "calls"), 1u8);
    }

    proptest! {
        // No regression files: the seed is fixed (.cargo/config.toml), so a failure replays on
        // every run anyway, and no outcome depends on a file an earlier run left behind.
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]
        #[test]
        fn render_then_parse_is_identity(root in arb_element(), pretty in any::<bool>()) {
            let doc = Document::new(canonicalize(&root));
            let text = doc.render(if pretty { Layout::Pretty } else { Layout::Compact });
            let back = parse(&text).unwrap();
            prop_assert_eq!(canonicalize(&back.root), doc.root);
            prop_assert_eq!(back.declaration, Declaration::Utf8);
        }

        #[test]
        fn the_writer_writes_what_any_tree_renders(root in arb_element()) {
            let mut root = root;
            without_attrs(&mut root);
            let doc = Document::new(root);
            let mut w = PrettyWriter::new(doc.declaration, 0);
            write_tree(&mut w, &doc.root);
            let text = w.finish();
            prop_assert_eq!(&text, &doc.render(Layout::Pretty));
            prop_assert_eq!(parse_pretty(&text).unwrap(), doc);
        }

        #[test]
        fn a_plain_leaf_is_the_leaf_display_writes(
            u in any::<u64>(),
            i in any::<i64>(),
            m in prop_oneof![any::<i64>(), -10_000_000i64..10_000_000],
        ) {
            let m = crate::world::Money(m);
            let mut plain = PrettyWriter::new(Declaration::None, 0);
            let mut shown = PrettyWriter::new(Declaration::None, 0);
            plain.open("a");
            shown.open("a");
            for n in [u, 0, u64::MAX] {
                plain.leaf_plain("u", n);
                shown.leaf("u", n);
            }
            for n in [i, 0, -1, i64::MIN, i64::MAX] {
                plain.leaf_plain("i", n);
                shown.leaf("i", n);
            }
            plain.leaf_plain_tag(crate::tag!(1, "t"), u);
            shown.leaf("t", u);
            plain.leaf_plain("s", (i % 1000) as i16);
            shown.leaf("s", (i % 1000) as i16);
            for v in [m, crate::world::Money(i64::MIN), crate::world::Money(0)] {
                plain.leaf_plain("m", v);
                shown.leaf("m", v);
            }
            prop_assert_eq!(plain.finish(), shown.finish());
        }

        #[test]
        fn shape_text_is_the_canonical_text_of_the_shape(root in arb_element()) {
            prop_assert_eq!(shape_text(&root), canonical_element(&shape(&root)));
        }

        #[test]
        fn canonical_form_is_idempotent(root in arb_element()) {
            let once = canonical_element(&root);
            let twice = canonical(&once).unwrap();
            prop_assert_eq!(once, twice);
        }

        #[test]
        fn a_tree_has_no_difference_with_itself(root in arb_element()) {
            prop_assert_eq!(diff(&root, &root, DiffMode::Exact), None);
            prop_assert_eq!(diff(&shape(&root), &root, DiffMode::Structure), None);
        }

        #[test]
        fn parsing_arbitrary_text_never_panics(s in ".{0,64}") {
            let _ = parse(&s);
        }
    }
}
