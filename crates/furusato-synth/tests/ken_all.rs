//! Checks the built-in address seeds against 日本郵便's postal-code table when it is available
//! (`../shared/data/utf_ken_all.csv` next to the workspace, or the file named by
//! `FURUSATO_KEN_ALL`). Skips with a message otherwise.

use std::collections::HashMap;
use std::path::PathBuf;

use furusato_synth::{AddressBook, AddressSeed, Generator};

fn ken_all_path() -> PathBuf {
    std::env::var_os("FURUSATO_KEN_ALL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/utf_ken_all.csv")
        })
}

/// All records as seeds (postal code, prefecture, city, town, town kana), or None when absent.
fn load() -> Option<Vec<AddressSeed>> {
    let path = ken_all_path();
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!(
                "skipping: postal-code table {} not readable ({e})",
                path.display()
            );
            return None;
        }
    };
    let rows = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split(',').map(|c| c.trim_matches('"')).collect();
            assert_eq!(f.len(), 15, "unexpected record: {line}");
            AddressSeed {
                postal_code: f[2].to_string(),
                prefecture: f[6].to_string(),
                city: f[7].to_string(),
                town: f[8].to_string(),
                town_kana: f[5].to_string(),
            }
        })
        .collect();
    Some(rows)
}

#[test]
fn ken_all_consistency() {
    let Some(rows) = load() else { return };
    assert!(
        rows.len() > 100_000,
        "table looks truncated: {} rows",
        rows.len()
    );
    let mut index: HashMap<(&str, &str, &str, &str), &AddressSeed> = HashMap::new();
    for r in &rows {
        index.insert((&r.postal_code, &r.prefecture, &r.city, &r.town), r);
    }
    let builtin = AddressBook::builtin();
    assert!(!builtin.is_empty());
    for s in builtin.seeds() {
        let found = index.get(&(
            s.postal_code.as_str(),
            s.prefecture.as_str(),
            s.city.as_str(),
            s.town.as_str(),
        ));
        let Some(found) = found else {
            panic!(
                "built-in seed not in the postal table: {} {} {} {}",
                s.postal_code, s.prefecture, s.city, s.town
            );
        };
        assert_eq!(
            found.town_kana, s.town_kana,
            "kana of {} {}",
            s.city, s.town
        );
    }
}

#[test]
fn a_book_from_the_full_table_generates_real_areas() {
    let Some(rows) = load() else { return };
    let known: std::collections::HashSet<(String, String, String)> = rows
        .iter()
        .map(|r| (r.postal_code.clone(), r.city.clone(), r.town.clone()))
        .collect();
    let book = AddressBook::from_seeds(rows).expect("the postal table is a valid source");
    // Placeholders and annotated towns are dropped.
    assert!(
        book.seeds()
            .iter()
            .all(|s| !s.town.contains("以下に掲載がない場合"))
    );
    assert!(book.len() > 80_000, "{}", book.len());
    let mut g = Generator::new(2024, book);
    let mut prefectures = std::collections::HashSet::new();
    for _ in 0..2_000 {
        let p = g.person();
        assert!(known.contains(&(p.postal_code.clone(), p.city.clone(), p.town.clone())));
        prefectures.insert(p.prefecture);
    }
    assert!(prefectures.len() > 30, "{}", prefectures.len());
}
