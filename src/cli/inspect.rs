//! `flashline inspect FILE... [--json]`

use anyhow::Result;
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::core::bundle::read_file;
use crate::core::module::{Dependency, Extension, Inner, Module, ModuleForm};
use crate::core::plan::Route;

#[derive(clap::Args)]
pub struct Args {
    /// Module files (.bin)
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// One JSON document on stdout instead of a table
    #[arg(long)]
    json: bool,
}

/// The fields of design §3 first, then what modern modules add.
#[derive(Serialize)]
struct ModuleReport {
    file: String,
    size: usize,
    platform_id: u16,
    platform: &'static str,
    function: String,
    index: u8,
    version: u16,
    start_address: u32,
    end_address: u32,
    flags: u8,
    dependencies: Vec<Dependency>,
    crc_ok: bool,
    flag_names: Vec<String>,
    form: ModuleForm,
    /// How flashline sends it: `dfu` or `control` (request).
    route: Route,
    prefix_offset: usize,
    prefix_size: usize,
    mcu_target: u8,
    suffix_size: u16,
    /// The SHA-256 the suffix holds.
    sha256: String,
    sha_ok: bool,
    product_id: Option<u16>,
    product_version: Option<u16>,
    name: Option<String>,
    asset_hash: Option<String>,
    asset_dependencies: Vec<AssetReport>,
    security_mode: Option<u8>,
    certificate_size: Option<usize>,
    extensions: Vec<ExtensionReport>,
    compressed: Option<CompressedReport>,
    /// A combined file's modules, each described like a file of its own.
    parts: Vec<ModuleReport>,
    /// "ok", or why the module may not be used (the same reason `bundle lock` gives).
    integrity: String,
    /// Why no route can write it to a board of its platform, if none can.
    no_route: Option<String>,
}

/// An extension with its type number (Device OS's `module_info_extension_type_t`).
#[derive(Serialize)]
struct ExtensionReport {
    code: u16,
    #[serde(flatten)]
    extension: Extension,
}

#[derive(Serialize)]
struct AssetReport {
    name: String,
    hash: String,
}

#[derive(Serialize)]
struct CompressedReport {
    method: u8,
    window_bits: u8,
    compressed_size: usize,
    original_size: u32,
    /// The inflated module, for anything but an asset.
    inner: Option<InnerReport>,
    /// SHA-256 of an asset's inflated contents.
    payload_sha256: Option<String>,
}

#[derive(Serialize)]
struct InnerReport {
    function: String,
    index: u8,
    version: u16,
    start_address: u32,
    size: usize,
    crc_ok: bool,
    sha_ok: bool,
    sha256: String,
}

impl ModuleReport {
    fn new(file: String, m: &Module) -> Self {
        let product = m.product();
        let parts = m
            .combined_parts()
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, p)| ModuleReport::new(format!("{file}#{}", i + 1), p))
            .collect();
        ModuleReport {
            size: m.bytes().len(),
            platform_id: m.prefix.platform_id,
            platform: m.platform.name,
            function: m.function().to_string(),
            index: m.index(),
            version: m.version(),
            start_address: m.prefix.start_address,
            end_address: m.prefix.end_address,
            flags: m.prefix.flags,
            dependencies: m.prefix.dependencies.clone(),
            crc_ok: m.crc_ok(),
            flag_names: m.flags().names(),
            form: m.form(),
            route: Route::of(m),
            prefix_offset: m.prefix_offset,
            prefix_size: m.prefix_size(),
            mcu_target: m.prefix.mcu_target,
            suffix_size: m.suffix_len,
            sha256: hex::encode(m.stored_sha()),
            sha_ok: m.sha_ok(),
            product_id: product.map(|p| p.id),
            product_version: product.map(|p| p.version),
            name: m.name().map(str::to_string),
            asset_hash: m.asset_hash().map(hex::encode),
            asset_dependencies: m
                .asset_dependencies()
                .iter()
                .map(|a| AssetReport {
                    name: a.name.clone(),
                    hash: hex::encode(&a.hash),
                })
                .collect(),
            security_mode: m.security_mode().map(|(mode, _)| mode),
            certificate_size: m.security_mode().and_then(|(_, c)| (c > 0).then_some(c)),
            extensions: m
                .extensions()
                .iter()
                .map(|e| ExtensionReport {
                    code: e.code(),
                    extension: e.clone(),
                })
                .collect(),
            no_route: Route::check(m, &m.platform).err(),
            compressed: m.compressed().map(|c| CompressedReport {
                method: c.header.method,
                window_bits: c.header.window_bits,
                compressed_size: c.data_len,
                original_size: c.header.original_size,
                inner: match &c.inner {
                    Ok(Inner::Module(i)) => Some(InnerReport {
                        function: i.function().to_string(),
                        index: i.index(),
                        version: i.version(),
                        start_address: i.prefix.start_address,
                        size: i.bytes().len(),
                        crc_ok: i.crc_ok(),
                        sha_ok: i.sha_ok(),
                        sha256: hex::encode(i.stored_sha()),
                    }),
                    _ => None,
                },
                payload_sha256: match &c.inner {
                    Ok(Inner::Payload { sha256 }) => Some(hex::encode(sha256)),
                    _ => None,
                },
            }),
            parts,
            integrity: m
                .check_integrity()
                .map_or_else(|e| e.to_string(), |()| "ok".into()),
            file,
        }
    }
}

pub fn run(args: Args) -> Result<ExitCode> {
    let mut reports = Vec::new();
    let mut failed = 0;
    for path in &args.files {
        let name = path.display().to_string();
        let parsed = read_file(path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| Module::parse(bytes).map_err(|e| format!("{name}: {e}")));
        match parsed {
            Ok(m) => {
                if let Err(e) = m.check_integrity() {
                    eprintln!("error: {name}: {e}");
                    failed += 1;
                }
                reports.push(ModuleReport::new(name, &m));
            }
            Err(e) => {
                eprintln!("error: {e}");
                failed += 1;
            }
        }
    }
    if args.json {
        super::print_json(&reports)?;
    } else if !reports.is_empty() {
        // No header over an empty table: every file was refused, each said on stderr.
        print_table(&reports);
    }
    if failed > 0 {
        eprintln!("{failed} of {} file(s) invalid", args.files.len());
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(reports: &[ModuleReport]) {
    println!(
        "{:<40} {:<13} {:>5} {:>7} {:<13} {:<18} {:>7} {:<5} dependencies",
        "file", "function", "index", "version", "platform", "address", "size", "crc"
    );
    for r in reports {
        let file = std::path::Path::new(&r.file)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| r.file.clone());
        print_row(&file, r);
        for line in details(r) {
            println!("    {line}");
        }
        for p in &r.parts {
            print_row(
                &format!(
                    "  part {}",
                    &p.file[p.file.rfind('#').map_or(0, |i| i + 1)..]
                ),
                p,
            );
        }
    }
}

fn print_row(file: &str, r: &ModuleReport) {
    let deps: Vec<String> = r.dependencies.iter().map(|d| d.to_string()).collect();
    println!(
        "{:<40} {:<13} {:>5} {:>7} {:<13} 0x{:05x}..0x{:05x} {:>7} {:<5} {}",
        file,
        r.function,
        r.index,
        r.version,
        format!("{}({})", r.platform, r.platform_id),
        r.start_address,
        r.end_address,
        r.size,
        if r.crc_ok { "ok" } else { "BAD" },
        if deps.is_empty() {
            "-".to_string()
        } else {
            deps.join(", ")
        }
    );
}

/// What matters beyond the row, one line each: form, route, product, name, assets, security.
fn details(r: &ModuleReport) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(c) = &r.compressed {
        let what = match (&c.inner, &c.payload_sha256) {
            (Some(i), _) => format!(
                ": {}#{} v{}, CRC {}",
                i.function,
                i.index,
                i.version,
                if i.crc_ok { "ok" } else { "BAD" }
            ),
            (None, Some(sha)) => format!(": contents SHA-256 {sha}"),
            _ => String::new(),
        };
        out.push(format!(
            "compressed {} -> {} bytes (raw deflate){what}",
            r.size, c.original_size
        ));
    }
    if !r.parts.is_empty() {
        let parts: Vec<String> = r
            .parts
            .iter()
            .map(|p| {
                format!(
                    "{}#{} v{} at 0x{:05x}",
                    p.function, p.index, p.version, p.start_address
                )
            })
            .collect();
        out.push(format!(
            "combined, {} modules: {}",
            parts.len(),
            parts.join(", ")
        ));
    }
    if let (Some(id), Some(v)) = (r.product_id, r.product_version) {
        if id != 0xFFFF && id != 0 {
            out.push(format!("product {id} version {v}"));
        }
    }
    if let Some(name) = &r.name {
        out.push(format!("name {name}"));
    }
    for a in &r.asset_dependencies {
        out.push(format!("needs asset {} (SHA-256 {})", a.name, a.hash));
    }
    if let Some(mode) = r.security_mode {
        let cert = r
            .certificate_size
            .map_or(String::new(), |c| format!(", {c}-byte certificate"));
        out.push(format!(
            "security mode {mode}{}{cert}",
            if mode == 1 { " (protected)" } else { "" }
        ));
    }
    if !r.flag_names.is_empty() {
        out.push(format!(
            "flags {}; sent by {}",
            r.flag_names.join(", "),
            route(r.route)
        ));
    } else if r.route == Route::Control {
        out.push(format!("sent by {}", route(r.route)));
    }
    if let Some(why) = &r.no_route {
        out.push(format!("NO ROUTE: it {why}"));
    }
    if r.integrity != "ok" {
        out.push(format!("NOT USABLE: {}", r.integrity));
    }
    out
}

fn route(r: Route) -> &'static str {
    match r {
        Route::Dfu => "DFU",
        Route::Control => "control request",
    }
}
