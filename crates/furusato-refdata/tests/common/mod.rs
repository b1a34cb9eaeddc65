//! Shared helpers of the integration tests: where the public reference files are.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// `../shared/data` beside the workspace (/work/shared/data), or `None` with a printed note.
pub fn data_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("note: {} is absent; skipping this test", dir.display());
        None
    }
}

/// A file of the shared data directory (`"utf_ken_all.csv"`, `"fixtures/…"`), or `None` with a note.
pub fn data_file(name: &str) -> Option<PathBuf> {
    let path = data_dir()?.join(name);
    if path.is_file() {
        Some(path)
    } else {
        eprintln!("note: {} is absent; skipping this test", path.display());
        None
    }
}

pub const UTF_FIXTURE: &str = "fixtures/utf_ken_all.sample.csv";
pub const SJIS_FIXTURE: &str = "fixtures/KEN_ALL.sample.sjis.csv";

/// The SHA-256 recorded for `name` in the data directory's SHA256SUMS.
pub fn expected_sha256(name: &str) -> Option<String> {
    let sums = std::fs::read_to_string(data_dir()?.join("SHA256SUMS")).ok()?;
    sums.lines().find_map(|line| {
        let (sum, file) = line.split_once(char::is_whitespace)?;
        (file.trim() == name).then(|| sum.to_owned())
    })
}

/// A small local-government list in the normalised CSV format (public 総務省 codes), so the DB
/// tests can resolve wards without the full file.
pub const MINI_LOCAL_GOV_CSV: &str = "\
code,code5,pref_code,kind,parent_code,prefecture,name,prefecture_kana,name_kana
010006,01000,01,prefecture,,北海道,北海道,ホッカイドウ,ホッカイドウ
011002,01100,01,designated_city,010006,北海道,札幌市,ホッカイドウ,サッポロシ
011011,01101,01,ward,011002,北海道,札幌市中央区,ホッカイドウ,サッポロシチュウオウク
012246,01224,01,city,010006,北海道,千歳市,ホッカイドウ,チトセシ
040002,04000,04,prefecture,,宮城県,宮城県,ミヤギケン,ミヤギケン
041009,04100,04,designated_city,040002,宮城県,仙台市,ミヤギケン,センダイシ
041017,04101,04,ward,041009,宮城県,仙台市青葉区,ミヤギケン,センダイシアオバク
043214,04321,04,town,040002,宮城県,大河原町,ミヤギケン,オオガワラマチ
070009,07000,07,prefecture,,福島県,福島県,フクシマケン,フクシマケン
072036,07203,07,city,070009,福島県,郡山市,フクシマケン,コオリヤマシ
130001,13000,13,prefecture,,東京都,東京都,トウキョウト,トウキョウト
131016,13101,13,special_ward,130001,東京都,千代田区,トウキョウト,チヨダク
220001,22000,22,prefecture,,静岡県,静岡県,シズオカケン,シズオカケン
221309,22130,22,designated_city,220001,静岡県,浜松市,シズオカケン,ハママツシ
221384,22138,22,ward,221309,静岡県,浜松市中央区,シズオカケン,ハママツシチュウオウク
221392,22139,22,ward,221309,静岡県,浜松市浜名区,シズオカケン,ハママツシハマナク
221406,22140,22,ward,221309,静岡県,浜松市天竜区,シズオカケン,ハママツシテンリュウク
";
