//! Retention policies: how long each class of data is kept before `furusato erase` removes it.
//!
//! A policy is a number of days (`retention_policies.keep_days`) counted from a reference date
//! that depends on the class (see [`DataClass::reference_ja`]). Data is *past retention* when the
//! reference date plus the kept days lies before the day of the erasure run ("as of").
//!
//! Periods entered in years are stored as `years × 365 + ⌈years / 4⌉` days, which is never shorter
//! than the same number of calendar years (a span of `n` years holds at most `⌈n / 4⌉` leap days):
//! erasure may come a day or two late, never early.
//!
//! Defaults (each municipality can change them on 設定 → 保存期間):
//! - **寄附記録** (donations, their gift lines, ship-tos, source records, payment records, and donors
//!   left without donations): 10 years after the end of the 年度 of the donation. The basis is the
//!   city's 文書管理規程 (retention of 歳入 records; 仙台市 keeps 収入 evidence 10 years after the 年度
//!   ends); cities with other rules change it.
//! - **個人番号** (the vault entries): 7 years after the end of the calendar year (the tax year) of the
//!   donor's latest donation. 申告特例通知書 for a year are sent by 31 January of the next year; the
//!   numbers are then kept only while the 申告特例申請書 they came from must be kept (we default to
//!   7 years, the usual keep period of tax documents) and must be erased after that
//!   (番号法 第20条, ガイドライン「特定個人情報の削除・廃棄」).
//! - **取込ファイル** (uploaded CSV files kept with their import): 1 year after the upload. The
//!   imported rows themselves live on in the ledger and in `source_records`.
//! - **操作記録** (the audit trail): never erased by `furusato erase`; it records the erasures too.

use serde::Serialize;
use time::{Date, Duration, Month, OffsetDateTime};

use crate::{Db, DbResult, MunicipalityId, Tx, now_utc, with_db, with_tx};

/// A class of data with its own retention rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DataClass {
    /// 寄附記録: donations and everything that belongs to them, and donors left without donations.
    Donations,
    /// 個人番号: the sealed My Numbers of donors in the vault.
    MyNumber,
    /// 取込ファイル: uploaded files kept with their import record.
    Imports,
    /// 操作記録: the audit trail (never erased).
    AuditLog,
}

impl DataClass {
    /// Every class, in the order of the settings screen.
    pub const ALL: [DataClass; 4] = [
        DataClass::Donations,
        DataClass::MyNumber,
        DataClass::Imports,
        DataClass::AuditLog,
    ];

    /// The classes `furusato erase` works on, in the order it erases them.
    pub const ERASABLE: [DataClass; 3] = [
        DataClass::MyNumber,
        DataClass::Donations,
        DataClass::Imports,
    ];

    /// Stored name (`retention_policies.data_class`).
    pub fn as_str(self) -> &'static str {
        match self {
            DataClass::Donations => "donations",
            DataClass::MyNumber => "my_number",
            DataClass::Imports => "imports",
            DataClass::AuditLog => "audit_log",
        }
    }

    pub fn parse(s: &str) -> Option<DataClass> {
        DataClass::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Name on screens and in the erasure report.
    pub fn label_ja(self) -> &'static str {
        match self {
            DataClass::Donations => "寄附記録",
            DataClass::MyNumber => "個人番号",
            DataClass::Imports => "取込ファイル",
            DataClass::AuditLog => "操作記録",
        }
    }

    /// What the class contains, for the settings screen.
    pub fn contents_ja(self) -> &'static str {
        match self {
            DataClass::Donations => {
                "寄附、返礼品明細、送付先、変更履歴、取込元データ、入金記録、および寄附がなくなった寄附者"
            }
            DataClass::MyNumber => "寄附者の個人番号（暗号化して保管しているもの）",
            DataClass::Imports => {
                "取込時にアップロードされたファイル（取込結果の記録は寄附記録に残ります）"
            }
            DataClass::AuditLog => "ログイン、閲覧、変更、出力、個人番号の表示、消去などの操作記録",
        }
    }

    /// The date the retention period counts from.
    pub fn reference_ja(self) -> &'static str {
        match self {
            DataClass::Donations => {
                "寄附の受領日（未受領のものは寄附日）が属する年度の末日（3月31日）"
            }
            DataClass::MyNumber => {
                "その寄附者の最後の寄附の受領日（未受領は寄附日）が属する年の12月31日"
            }
            DataClass::Imports => "ファイルを取り込んだ日",
            DataClass::AuditLog => "—",
        }
    }

    /// Why the default is what it is.
    pub fn basis_ja(self) -> &'static str {
        match self {
            DataClass::Donations => {
                "既定は年度末から10年です。根拠は市の文書管理規程（歳入に関する記録の保存期間）で、規程が異なる場合は変更してください。"
            }
            DataClass::MyNumber => {
                "既定は寄附の年の末日から7年です。申告特例通知書（翌年1月31日まで）の送付後は、申告特例申請書の保存期間（税務書類の通例に合わせ7年）が過ぎたら速やかに削除します（番号法第20条、特定個人情報ガイドライン）。"
            }
            DataClass::Imports => {
                "既定は取込日から1年です。取り込んだ内容は寄附記録と取込元データに残るため、元ファイルは短期間で消去します。"
            }
            DataClass::AuditLog => {
                "操作記録は消去の対象外です（消去の実施も操作記録に残ります）。保存期間の設定はありません。"
            }
        }
    }

    /// Whether `furusato erase` removes data of this class.
    pub fn erasable(self) -> bool {
        self != DataClass::AuditLog
    }

    /// The default keep period in days; None for classes that are never erased.
    pub fn default_keep_days(self) -> Option<i64> {
        match self {
            DataClass::Donations => Some(years_to_days(10)),
            DataClass::MyNumber => Some(years_to_days(7)),
            DataClass::Imports => Some(years_to_days(1)),
            DataClass::AuditLog => None,
        }
    }
}

/// Longest accepted keep period (100 years).
pub const MAX_KEEP_DAYS: i64 = 36_525;

/// Days stored for a period of `years` years: `years × 365 + ⌈years / 4⌉` (never shorter than the
/// calendar years, whatever leap days they contain).
pub fn years_to_days(years: i64) -> i64 {
    years * 365 + (years + 3) / 4
}

/// The number of whole years `days` stands for, when it was entered in years.
pub fn whole_years(days: i64) -> Option<i64> {
    let y = days / 365;
    (y >= 1 && years_to_days(y) == days).then_some(y)
}

/// "10年" or "400日".
pub fn describe_days(days: i64) -> String {
    match whole_years(days) {
        Some(y) => format!("{y}年"),
        None => format!("{days}日"),
    }
}

/// The policy of one class for a municipality.
#[derive(Clone, Debug, Serialize)]
pub struct Policy {
    pub class: DataClass,
    /// None: never erased (操作記録).
    pub keep_days: Option<i64>,
    /// True when the municipality has not set its own value.
    pub is_default: bool,
    pub updated_at: Option<OffsetDateTime>,
}

impl Policy {
    /// "10年", "400日" or "消去しない".
    pub fn keep_label(&self) -> String {
        match self.keep_days {
            Some(d) => describe_days(d),
            None => "消去しない".into(),
        }
    }
}

/// Every class's policy for the municipality (defaults where none was set).
pub async fn policies(db: &Db, tenant: MunicipalityId) -> DbResult<Vec<Policy>> {
    const SQL: &str = "SELECT data_class, keep_days, updated_at FROM retention_policies WHERE municipality_id = $1";
    let stored: Vec<(String, i64, OffsetDateTime)> = with_db!(db, |pool| sqlx::query_as(SQL)
        .bind(tenant.0)
        .fetch_all(pool)
        .await?);
    Ok(DataClass::ALL
        .into_iter()
        .map(|class| {
            let own = stored
                .iter()
                .find(|(c, _, _)| c == class.as_str())
                .filter(|_| class.erasable());
            match own {
                Some((_, days, at)) => Policy {
                    class,
                    keep_days: Some(*days),
                    is_default: false,
                    updated_at: Some(*at),
                },
                None => Policy {
                    class,
                    keep_days: class.default_keep_days(),
                    is_default: true,
                    updated_at: None,
                },
            }
        })
        .collect())
}

/// Sets the keep period of an erasable class (inside the caller's transaction, with its audit
/// entry). The value must be 1..=[`MAX_KEEP_DAYS`]; the caller validates and explains.
pub async fn set_keep_days(
    tx: &mut Tx,
    tenant: MunicipalityId,
    class: DataClass,
    keep_days: i64,
) -> DbResult<()> {
    if !class.erasable() || !(1..=MAX_KEEP_DAYS).contains(&keep_days) {
        return Err(crate::DbError::Conflict(format!(
            "retention of {} cannot be set to {keep_days} days",
            class.as_str()
        )));
    }
    const SQL: &str = "INSERT INTO retention_policies (municipality_id, data_class, keep_days, updated_at) \
        VALUES ($1, $2, $3, $4) ON CONFLICT (municipality_id, data_class) \
        DO UPDATE SET keep_days = excluded.keep_days, updated_at = excluded.updated_at";
    with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(class.as_str())
        .bind(keep_days)
        .bind(now_utc())
        .execute(conn)
        .await?
        .rows_affected());
    Ok(())
}

/// The last day still inside a period of `keep_days` counted back from `as_of`: data whose
/// reference date is before it is past retention.
pub fn cutoff(as_of: Date, keep_days: i64) -> Date {
    as_of
        .checked_sub(Duration::days(keep_days))
        .unwrap_or(Date::MIN)
}

/// 寄附記録: donations dated (受領日, else 寄附日) before this day are past retention — the 年度 they
/// belong to ended more than `keep_days` before `as_of`. It is 1 April of the 年度 of the cutoff.
pub fn donation_limit(as_of: Date, keep_days: i64) -> Date {
    let c = cutoff(as_of, keep_days);
    let fy = furusato_domain::jst::fiscal_year(c);
    Date::from_calendar_date(fy, Month::April, 1).unwrap_or(Date::MIN)
}

/// 個人番号: a donor whose latest donation is before this day (1 January of the cutoff's year) is
/// past retention — the calendar year of that donation ended more than `keep_days` before `as_of`.
pub fn my_number_limit(as_of: Date, keep_days: i64) -> Date {
    let c = cutoff(as_of, keep_days);
    Date::from_calendar_date(c.year(), Month::January, 1).unwrap_or(Date::MIN)
}

/// The first instant (00:00 JST) of `date`, in UTC, for comparisons with stored timestamps.
pub fn start_of_day_utc(date: Date) -> OffsetDateTime {
    furusato_domain::jst::start_of_day(date).to_offset(time::UtcOffset::UTC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn years_are_never_shorter_than_calendar_years() {
        assert_eq!(years_to_days(1), 366);
        assert_eq!(years_to_days(4), 1461);
        assert_eq!(years_to_days(7), 2557);
        assert_eq!(years_to_days(10), 3653);
        for y in 1..=100i64 {
            // Any span of y calendar years starting anywhere in 2000..2030 fits.
            for start_year in 2000..2030 {
                for (m, d) in [(1u8, 1u8), (3, 1), (3, 31), (12, 31)] {
                    let start =
                        Date::from_calendar_date(start_year, Month::try_from(m).unwrap(), d)
                            .unwrap();
                    let end =
                        Date::from_calendar_date(start_year + y as i32, start.month(), d).unwrap();
                    assert!(
                        (end - start).whole_days() <= years_to_days(y),
                        "{y} years from {start}"
                    );
                }
            }
            assert_eq!(whole_years(years_to_days(y)), Some(y));
        }
        assert_eq!(whole_years(400), None);
        assert_eq!(describe_days(3653), "10年");
        assert_eq!(describe_days(400), "400日");
    }

    #[test]
    fn donation_limit_is_the_start_of_a_fiscal_year() {
        // Kept 10 years after 31 March 2016 (FY2015) → erasable from April 2026 on.
        let keep = years_to_days(10);
        assert_eq!(
            donation_limit(date!(2026 - 04 - 02), keep),
            date!(2016 - 04 - 01)
        );
        // One day earlier, FY2015 (ended 2016-03-31) is still kept: only FY2014 and older go.
        assert_eq!(
            donation_limit(date!(2026 - 03 - 30), keep),
            date!(2015 - 04 - 01)
        );
    }

    #[test]
    fn my_number_limit_is_the_start_of_a_calendar_year() {
        let keep = years_to_days(7);
        // A 2018 donation: the year ended 2018-12-31, kept 7 years → erasable in 2026.
        assert_eq!(
            my_number_limit(date!(2026 - 01 - 03), keep),
            date!(2019 - 01 - 01)
        );
        assert_eq!(
            my_number_limit(date!(2025 - 12 - 31), keep),
            date!(2018 - 01 - 01)
        );
    }

    #[test]
    fn classes_round_trip() {
        for c in DataClass::ALL {
            assert_eq!(DataClass::parse(c.as_str()), Some(c));
        }
        assert_eq!(DataClass::AuditLog.default_keep_days(), None);
        assert!(!DataClass::ERASABLE.contains(&DataClass::AuditLog));
    }
}
