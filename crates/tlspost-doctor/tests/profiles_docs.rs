//! docs/doctor.md shows each device profile's table as the data has it.

use tlspost_doctor::profile::PROFILES;

#[test]
fn the_docs_show_every_profile_as_its_data_says() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/doctor.md")).unwrap();
    for p in PROFILES {
        let table = p.markdown();
        assert!(
            doc.contains(&table),
            "docs/doctor.md lacks the table for {}:\n\n{table}",
            p.name
        );
    }
}
