//! Importing into the database and looking up (SQLite by default, PostgreSQL when
//! FURUSATO_TEST_DATABASE_URL is set). Multi-threaded runtimes: `TestDb`'s drop closes the pool
//! from another thread, which needs a runtime thread free to drive the connections.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use common::{MINI_LOCAL_GOV_CSV, SJIS_FIXTURE, UTF_FIXTURE, data_file, expected_sha256};
use furusato_db::reference::{count_local_gov, count_postal, latest_imports, postal_lookup};
use furusato_db::testing::test_db;
use furusato_domain::PostalCode;
use furusato_refdata::{
    Autofill, LocalGovFormat, PostalFormat, RefDataError, SourceFormat, autofill, import_localgov,
    import_postal, preview_postal, residence_city,
};

fn write_temp(dir: &tempfile::TempDir, name: &str, contents: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

fn mini_local_gov(dir: &tempfile::TempDir) -> PathBuf {
    write_temp(dir, "local_gov_codes.csv", MINI_LOCAL_GOV_CSV.as_bytes())
}

fn code(s: &str) -> PostalCode {
    PostalCode::parse(s).unwrap()
}

async fn fill(db: &furusato_db::Db, postal: &str) -> Autofill {
    autofill(db, &code(postal))
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{postal} not found"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixture_import_and_autofill() {
    let Some(utf) = data_file(UTF_FIXTURE) else {
        return;
    };
    let t = test_db().await;
    let dir = tempfile::tempdir().unwrap();
    let summary = import_postal(&t, &utf).await.unwrap();
    assert_eq!(summary.rows, 19);
    assert_eq!(
        summary.format,
        SourceFormat::Postal(PostalFormat::UtfKenAll)
    );
    assert!(!summary.dry_run);
    assert_eq!(count_postal(&t).await.unwrap(), 19);

    // Before the local-government list is loaded: names only, no codes.
    let a = fill(&t, "980-0000").await;
    assert_eq!(
        (a.prefecture.as_str(), a.city.as_str(), a.town.as_str()),
        ("宮城県", "仙台市青葉区", "")
    );
    assert_eq!(a.local_gov_code, None);
    assert_eq!(a.residence_city_code, None);

    let lg = import_localgov(&t, &mini_local_gov(&dir)).await.unwrap();
    assert_eq!(lg.format, SourceFormat::LocalGov(LocalGovFormat::Csv));
    assert_eq!(lg.rows, 17);

    let a = fill(&t, "〒980-0000").await;
    assert_eq!(a.local_gov_code.as_deref(), Some("041017"));
    assert_eq!(a.residence_city_code.as_deref(), Some("041009"));
    assert_eq!(a.candidates, 1);

    let a = fill(&t, "1020082").await;
    assert_eq!(
        (
            a.prefecture.as_str(),
            a.city.as_str(),
            a.town.as_str(),
            a.town_kana.as_str()
        ),
        ("東京都", "千代田区", "一番町", "イチバンチョウ")
    );
    assert_eq!(a.local_gov_code.as_deref(), Some("131016"));
    assert_eq!(
        a.residence_city_code.as_deref(),
        Some("131016"),
        "a special ward is its own municipality"
    );

    let a = fill(&t, "066-0005").await;
    assert_eq!(
        (a.city.as_str(), a.town.as_str(), a.town_kana.as_str()),
        ("千歳市", "協和", "キョウワ")
    );
    assert_eq!(a.local_gov_code.as_deref(), Some("012246"));

    // 〒432-0000 is shared by the three wards of 浜松市: the common city is 浜松市.
    let a = fill(&t, "432-0000").await;
    assert_eq!(
        (a.prefecture.as_str(), a.city.as_str(), a.town.as_str()),
        ("静岡県", "浜松市", "")
    );
    assert_eq!(a.city_kana, "ハママツシ");
    assert_eq!(a.local_gov_code.as_deref(), Some("221309"));
    assert_eq!(a.residence_city_code.as_deref(), Some("221309"));
    assert_eq!(a.candidates, 3);

    assert_eq!(autofill(&t, &code("999-9999")).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ken_all_fixture_imports_the_same_rows_with_the_split_town_joined() {
    let (Some(utf), Some(sjis)) = (data_file(UTF_FIXTURE), data_file(SJIS_FIXTURE)) else {
        return;
    };
    let t = test_db().await;
    let summary = import_postal(&t, &sjis).await.unwrap();
    assert_eq!(
        summary.format,
        SourceFormat::Postal(PostalFormat::KenAllSjis)
    );
    assert_eq!(summary.rows, 19, "21 lines, 19 records");
    let split = postal_lookup(&t, "0660005").await.unwrap();
    assert_eq!(split.len(), 1, "the 3 lines of 〒066-0005 are one record");
    assert_eq!(
        (split[0].town.as_str(), split[0].town_kana.as_str()),
        ("協和", "キョウワ")
    );

    let codes = [
        "0600000", "0640941", "0660005", "9800000", "9810916", "1020072", "4320000", "4313535",
    ];
    let mut from_sjis = Vec::new();
    for c in codes {
        from_sjis.push(postal_lookup(&t, c).await.unwrap());
    }
    import_postal(&t, &utf).await.unwrap();
    for (c, sjis_rows) in codes.iter().zip(from_sjis) {
        assert_eq!(postal_lookup(&t, c).await.unwrap(), sjis_rows, "{c}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn residence_city_resolves_wards_to_their_city() {
    let t = test_db().await;
    let dir = tempfile::tempdir().unwrap();
    import_localgov(&t, &mini_local_gov(&dir)).await.unwrap();
    let city = |pref: &'static str, name: &'static str| {
        let db = &t.db;
        async move {
            residence_city(db, pref, name)
                .await
                .unwrap()
                .map(|lg| (lg.code, lg.name))
        }
    };
    let sendai = Some(("041009".to_owned(), "仙台市".to_owned()));
    assert_eq!(city("宮城県", "仙台市青葉区").await, sendai);
    assert_eq!(city("宮城県", "仙台市 青葉区").await, sendai);
    assert_eq!(city("宮城県", "仙台市").await, sendai);
    assert_eq!(
        city("静岡県", "浜松市中央区").await,
        Some(("221309".to_owned(), "浜松市".to_owned()))
    );
    assert_eq!(
        city("東京都", "千代田区").await,
        Some(("131016".to_owned(), "千代田区".to_owned()))
    );
    assert_eq!(
        city("宮城県", "柴田郡大河原町").await,
        Some(("043214".to_owned(), "大河原町".to_owned()))
    );
    assert_eq!(
        city("福島県", "郡山市").await,
        Some(("072036".to_owned(), "郡山市".to_owned()))
    );
    assert_eq!(
        city("宮城県", "宮城県").await,
        None,
        "a prefecture is not a residence city"
    );
    assert_eq!(city("宮城県", "浜松市中央区").await, None);
    assert_eq!(city("宮城県", "").await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_import_changes_nothing() {
    let Some(utf) = data_file(UTF_FIXTURE) else {
        return;
    };
    let t = test_db().await;
    let dir = tempfile::tempdir().unwrap();
    import_postal(&t, &utf).await.unwrap();
    import_localgov(&t, &mini_local_gov(&dir)).await.unwrap();
    let before = latest_imports(&t).await.unwrap();

    let mut broken = std::fs::read(&utf).unwrap();
    broken.extend_from_slice(b"04101,\"980  \",\"980081\",\"x\"\r\n");
    let bad_postal = write_temp(&dir, "utf_ken_all.csv", &broken);
    let err = import_postal(&t, &bad_postal).await.unwrap_err();
    assert!(matches!(err, RefDataError::InvalidRows { .. }), "{err:?}");
    assert!(err.to_string().contains("line 20"), "{err}");

    let bad_lg = MINI_LOCAL_GOV_CSV.replace("041017", "041018");
    let bad_lg = write_temp(&dir, "bad.csv", bad_lg.as_bytes());
    let err = import_localgov(&t, &bad_lg).await.unwrap_err();
    assert!(
        err.to_string().contains("041018 fails the check digit"),
        "{err}"
    );

    assert_eq!(count_postal(&t).await.unwrap(), 19);
    assert_eq!(count_local_gov(&t).await.unwrap(), 17);
    let after = latest_imports(&t).await.unwrap();
    assert_eq!(
        after.iter().map(|i| i.id).collect::<Vec<_>>(),
        before.iter().map(|i| i.id).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zip_archives_are_imported_and_hashed_as_given() {
    let Some(utf) = data_file(UTF_FIXTURE) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let zip_path = dir.path().join("utf_ken_all.zip");
    {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("utf_ken_all.csv", options).unwrap();
        zip.write_all(&std::fs::read(&utf).unwrap()).unwrap();
        zip.finish().unwrap();
    }
    let preview = preview_postal(&zip_path).unwrap();
    assert!(preview.dry_run);
    assert_eq!(preview.rows, 19);
    assert_eq!(preview.source_name, "utf_ken_all.zip!utf_ken_all.csv");

    let t = test_db().await;
    let summary = import_postal(&t, &zip_path).await.unwrap();
    assert_eq!(summary.rows, 19);
    let imports = latest_imports(&t).await.unwrap();
    let postal = imports.iter().find(|i| i.kind == "postal").unwrap();
    assert_eq!(postal.source_name, "utf_ken_all.zip!utf_ken_all.csv");
    assert_eq!(postal.sha256, summary.sha256);
    assert_eq!(postal.rows, 19);
    assert_ne!(
        summary.sha256,
        furusato_refdata::read_source(&utf).unwrap().sha256,
        "the archive is hashed"
    );
}

/// The complete official files: every postal row, the whole 総務省 list, and the look-ups the
/// forms and the 申告特例通知 routing rely on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complete_files_import_and_lookups() {
    let (Some(postal_path), Some(xlsx)) = (
        data_file("utf_ken_all.csv"),
        data_file("soumu_000925835.xlsx"),
    ) else {
        return;
    };
    let t = test_db().await;
    let preview = preview_postal(&postal_path).unwrap();
    let postal = import_postal(&t, &postal_path).await.unwrap();
    eprintln!(
        "parsed utf_ken_all.csv in {:?}; imported {} postal rows in {:?} ({})",
        preview.elapsed,
        postal.rows,
        postal.elapsed,
        t.backend().as_str()
    );
    assert_eq!(postal.rows, 124_511);
    assert_eq!(count_postal(&t).await.unwrap(), 124_511);
    assert_eq!(
        Some(postal.sha256.clone()),
        expected_sha256("utf_ken_all.csv")
    );

    let lg = import_localgov(&t, &xlsx).await.unwrap();
    assert_eq!(lg.rows, 1_965);
    assert_eq!(lg.format, SourceFormat::LocalGov(LocalGovFormat::SoumuXlsx));
    assert_eq!(
        Some(lg.sha256.clone()),
        expected_sha256("soumu_000925835.xlsx")
    );

    let a = fill(&t, "980-0811").await;
    assert_eq!(
        (a.prefecture.as_str(), a.city.as_str(), a.town.as_str()),
        ("宮城県", "仙台市青葉区", "一番町")
    );
    assert_eq!(
        (
            a.prefecture_kana.as_str(),
            a.city_kana.as_str(),
            a.town_kana.as_str()
        ),
        ("ミヤギケン", "センダイシアオバク", "イチバンチョウ")
    );
    assert_eq!(a.local_gov_code.as_deref(), Some("041017"));
    assert_eq!(a.residence_city_code.as_deref(), Some("041009"));

    // A code shared by three municipalities: the prefecture only.
    let a = fill(&t, "985-0000").await;
    assert_eq!(
        (a.prefecture.as_str(), a.city.as_str(), a.town.as_str()),
        ("宮城県", "", "")
    );
    assert_eq!(a.local_gov_code, None);
    assert_eq!(a.candidates, 3);

    let sendai = residence_city(&t, "宮城県", "仙台市青葉区")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (sendai.code.as_str(), sendai.name.as_str()),
        ("041009", "仙台市")
    );
    let hamamatsu = residence_city(&t, "静岡県", "浜松市中央区")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(hamamatsu.code, "221309");

    // Every address in the postal table resolves to a municipality by name, as the notice routing will do.
    let mut unresolved = Vec::new();
    for c in [
        "0600000", "0660005", "1000301", "3300000", "4320000", "6028134", "9071801", "9891200",
    ] {
        for r in postal_lookup(&t, c).await.unwrap() {
            if residence_city(&t, &r.prefecture, &r.city)
                .await
                .unwrap()
                .is_none()
            {
                unresolved.push(format!("{} {}", r.prefecture, r.city));
            }
        }
    }
    assert!(unresolved.is_empty(), "{unresolved:?}");
}

/// Loading the complete file is fast enough (a few seconds in release on SQLite); printed, not asserted
/// strictly, because debug builds and shared CI machines vary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complete_ken_all_imports_like_utf_ken_all() {
    let Some(sjis) = data_file("KEN_ALL.CSV") else {
        return;
    };
    let t = test_db().await;
    let summary = import_postal(&t, Path::new(&sjis)).await.unwrap();
    eprintln!(
        "imported KEN_ALL.CSV: {} rows in {:?}",
        summary.rows, summary.elapsed
    );
    assert_eq!(summary.rows, 124_511);
    assert_eq!(
        summary.format,
        SourceFormat::Postal(PostalFormat::KenAllSjis)
    );
    let kyoto = postal_lookup(&t, "6028134").await.unwrap();
    assert_eq!(
        (kyoto[0].town.as_str(), kyoto[0].town_kana.as_str()),
        ("一町目", "イッチョウメ")
    );
}
