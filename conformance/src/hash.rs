//! `mor-conformance hash`: the signer on the command line. Prints the hash string with the secret
//! masked, then the 40-hex digest on its last line.

use std::path::PathBuf;

use clap::Args;
use model::catalogue::Product;
use model::params::Params;
use model::quirks::{AbsentParams, HashOrder, MorHashRule};
use model::sign::{plan, SignOptions};

use crate::client::{day_of, today_utc};
use crate::exit::Failure;
use crate::target::SecretSource;

/// Arguments of `hash`.
#[derive(Debug, Args)]
pub struct HashArgs {
    /// Product: mor, m4 (m2 is an alias of m4).
    #[arg(long, env = "MOR_PRODUCT")]
    pub product: Product,
    /// Method name or alias.
    #[arg(long)]
    pub method: String,
    /// Environment variable holding the API secret.
    #[arg(long, conflicts_with = "secret_file")]
    pub secret_env: Option<String>,
    /// File holding the API secret.
    #[arg(long)]
    pub secret_file: Option<PathBuf>,
    /// Whether the caller is the System Admin (matters where `u` is hashed only for others, as in
    /// quickstats_get). Default: admin when `u` is absent or `admin`.
    #[arg(long, value_parser = ["admin", "other"])]
    pub caller: Option<String>,
    /// Absent optional hashed parameters: skip them or fill their defaults.
    #[arg(long, value_enum, default_value = "skip")]
    pub absent: AbsentArg,
    /// Concatenation order: the catalogue's or the request line's.
    #[arg(long, value_enum, default_value = "catalogue")]
    pub order: OrderArg,
    /// A named hash variant of the method (see the catalogue's `hash_variants`).
    #[arg(long)]
    pub variant: Option<String>,
    /// Which rule a MOR server hashes by: each method's documented list (`per-method`), or the
    /// X3 server code's global ordered list with its value filters (`global`; MOR only; then
    /// `--absent`, `--order` and `--variant` do not apply).
    #[arg(long, value_enum, default_value = "per-method")]
    pub rule: RuleArg,
    /// Today's date for `@today_*` defaults, as a Unix time of any second of that day
    /// (default: now).
    #[arg(long)]
    pub today: Option<i64>,
    /// An extra catalogue file that adds or overrides methods.
    #[arg(long)]
    pub catalogue: Option<PathBuf>,
    /// Sign even with parameters the method does not know or without a required one (for
    /// deliberate attacks).
    #[arg(long)]
    pub force: bool,
    /// Parameters as key=value, in request order.
    #[arg(value_name = "KEY=VALUE")]
    pub params: Vec<String>,
}

/// `--absent` values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum AbsentArg {
    /// Only parameters sent are hashed.
    Skip,
    /// Absent parameters contribute their documented defaults.
    Defaults,
}

/// `--order` values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum OrderArg {
    /// The documented per-method order.
    Catalogue,
    /// The order given on the command line.
    RequestLine,
}

/// `--rule` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RuleArg {
    /// The method's documented list, in its order.
    PerMethod,
    /// The X3 code's global ordered list with value filters (MOR only).
    Global,
}

/// Run `hash`; returns the text to print.
pub fn run(args: &HashArgs) -> Result<String, Failure> {
    let secret = SecretSource::from_flags(args.secret_env.as_deref(), args.secret_file.as_deref())
        .ok_or_else(|| {
            Failure::usage("give the secret with --secret-env VAR or --secret-file FILE")
        })?
        .read()
        .map_err(|e| Failure::usage(e.to_string()))?;
    if args.rule == RuleArg::Global && args.product != Product::Mor {
        return Err(Failure::usage(format!(
            "--rule global is MOR's (the X3 server code); {} signs by each method's list",
            args.product
        )));
    }
    let catalogue = crate::plan::catalogue(args.catalogue.as_deref())?;
    let method = catalogue
        .method(args.product, &args.method)
        .ok_or_else(|| {
            Failure::usage(format!(
                "unknown method `{}` for {}",
                args.method, args.product
            ))
        })?;
    let mut params = Params::new();
    for kv in &args.params {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| Failure::usage(format!("parameter `{kv}` is not KEY=VALUE")))?;
        params.push(k, v);
    }
    if !args.force {
        let unknown: Vec<&str> = params
            .iter()
            .map(|(k, _)| k)
            .filter(|k| *k != "hash" && method.param(k).is_none())
            .collect();
        if !unknown.is_empty() {
            return Err(Failure::usage(format!(
                "{} does not take {} (it takes {}); --force signs anyway",
                method.name,
                unknown.join(", "),
                method
                    .params
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let missing: Vec<&str> = method
            .params
            .iter()
            .filter(|p| p.required && p.name != "u" && params.get(&p.name).is_none())
            .map(|p| p.name.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(Failure::usage(format!(
                "{} needs {}; --force signs anyway",
                method.name,
                missing.join(", ")
            )));
        }
    }
    let is_admin = match args.caller.as_deref() {
        Some("admin") => true,
        Some(_) => false,
        None => params.get("u").is_none_or(|u| u == "admin"),
    };
    if let Some(v) = &args.variant {
        if !method.hash_variants.contains_key(v) {
            return Err(Failure::usage(format!(
                "method {} has no hash variant `{v}` (known: {})",
                method.name,
                method
                    .hash_variants
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    let opts = SignOptions {
        absent: match args.absent {
            AbsentArg::Skip => AbsentParams::Skip,
            AbsentArg::Defaults => AbsentParams::Defaults,
        },
        order: match args.order {
            OrderArg::Catalogue => HashOrder::Catalogue,
            OrderArg::RequestLine => HashOrder::RequestLine,
        },
        variant: args.variant.clone(),
        today: args.today.map_or_else(today_utc, day_of),
        rule: match args.rule {
            RuleArg::PerMethod => MorHashRule::PerMethod,
            RuleArg::Global => MorHashRule::Global,
        },
    };
    let p = plan(method, &params, is_admin, &opts);
    let order = p.order().join(", ");
    let notes = p.notes().map(|n| format!("{n}\n")).unwrap_or_default();
    Ok(format!(
        "method: {} ({})\norder: [{}]\n{notes}hash string: {}\n{}\n",
        method.name,
        args.product,
        order,
        p.masked(),
        p.digest(&secret)
    ))
}
