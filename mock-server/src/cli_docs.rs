//! Shell completions and man pages of both command lines, generated from their clap definitions
//! (`clap_complete`, `clap_mangen`) so they never drift from the flags: `mor-mock --completions
//! SHELL`, `mor-mock --man`, `mor-conformance completions SHELL`, `mor-conformance man [--out-dir
//! DIR]`.

use std::io::Write;
use std::path::{Path, PathBuf};

pub use clap_complete::Shell;

/// Write the completion script of `cmd` for `shell` to `out` (generated whole first: the
/// generator panics on a write error, such as a closed pipe).
pub fn completions(
    shell: Shell,
    cmd: &mut clap::Command,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let name = cmd.get_name().to_string();
    let mut script = Vec::new();
    clap_complete::generate(shell, cmd, name, &mut script);
    out.write_all(&script)
}

/// Write the man page (roff) of `cmd` to `out`.
pub fn man_page(cmd: clap::Command, out: &mut dyn Write) -> std::io::Result<()> {
    clap_mangen::Man::new(cmd).render(out)
}

/// Write the man page of `cmd` and one per subcommand (`NAME-SUB.1`, as git and cargo name
/// theirs) into `dir`; returns the files written.
pub fn man_pages(cmd: clap::Command, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut cmd = cmd;
    cmd.build();
    let mut written = Vec::new();
    write_pages(&cmd, cmd.get_name(), dir, &mut written)?;
    Ok(written)
}

fn write_pages(
    cmd: &clap::Command,
    name: &str,
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> std::io::Result<()> {
    let path = dir.join(format!("{name}.1"));
    let mut bytes = Vec::new();
    clap_mangen::Man::new(cmd.clone().name(name.to_string())).render(&mut bytes)?;
    std::fs::write(&path, bytes)?;
    written.push(path);
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        write_pages(sub, &format!("{name}-{}", sub.get_name()), dir, written)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli() -> clap::Command {
        clap::Command::new("tool")
            .about("a tool")
            .arg(clap::Arg::new("bind").long("bind").help("where to listen"))
            .subcommand(clap::Command::new("run").about("run things"))
    }

    #[test]
    fn completions_name_the_flags() {
        let mut out = Vec::new();
        completions(Shell::Bash, &mut cli(), &mut out).expect("written");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.contains("--bind"), "{text}");
        assert!(text.contains("run"), "{text}");
    }

    #[test]
    fn one_man_page_per_command_and_subcommand() {
        let dir = std::env::temp_dir().join(format!("cli-docs-{}", std::process::id()));
        let files = man_pages(cli(), &dir).expect("pages written");
        let names: Vec<String> = files
            .iter()
            .map(|f| {
                f.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(names, ["tool.1", "tool-run.1"]);
        let top = std::fs::read_to_string(&files[0]).expect("page");
        assert!(top.contains(".TH tool 1"), "{top}");
        assert!(top.contains("where to listen"), "{top}");
        std::fs::remove_dir_all(&dir).expect("cleaned");
    }
}
