//! Build-time settings: the network, the report's URL and body, and the build time (the floor for
//! certificate dates before SNTP answers). Missing settings stop the build with what to set.

use std::time::{SystemTime, UNIX_EPOCH};

const REQUIRED: &[(&str, &str)] = &[
    ("TLSPOST_SSID", "the Wi-Fi network's name"),
    ("TLSPOST_PASSWORD", "its WPA2 password (empty for an open network)"),
    (
        "TLSPOST_URL",
        "where to POST, e.g. https://192.168.1.20:8443/api/v1/readings",
    ),
];

fn main() {
    let mut missing = Vec::new();
    for (name, what) in REQUIRED {
        println!("cargo:rerun-if-env-changed={name}");
        if std::env::var_os(name).is_none() {
            missing.push(format!("  {name}: {what}"));
        }
    }
    for name in ["TLSPOST_BODY", "TLSPOST_INTERVAL_S", "TLSPOST_NTP", "SOURCE_DATE_EPOCH"] {
        println!("cargo:rerun-if-env-changed={name}");
    }
    println!("cargo:rerun-if-changed=src/roots.rs");
    if !missing.is_empty() {
        eprintln!(
            "firmware/esp32c3 is configured at build time; set:\n{}",
            missing.join("\n")
        );
        std::process::exit(1);
    }
    if !std::path::Path::new("src/roots.rs").exists() {
        eprintln!(
            "firmware/esp32c3: src/roots.rs is missing; write it with \
             `tlspost certs HOST --format rust -o src/roots.rs` (or --file CA.pem for a private CA)"
        );
        std::process::exit(1);
    }
    let now = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        });
    println!("cargo:rustc-env=TLSPOST_BUILD_TIME={now}");
}
