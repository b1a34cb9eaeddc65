//! Donor search (`/donors`) and the donor page (`/donors/{id}`).
//!
//! The search form has one box per criterion (フリガナ, 氏名, 郵便番号, 電話番号, 寄附番号・ポータル
//! 注文番号), combined with AND, sent with GET so that a search can be bookmarked. Text is folded
//! the way the ledger stores it: hiragana and half-width kana find katakana, full-width digits and
//! hyphens are accepted in numbers, and name, kana, postal code and phone match by prefix.
//!
//! Decisions about personal data in the result list (the detail page shows everything and every
//! view of it is audited by the route's `donor.view` rule):
//! - **Name**: family name and a fixed mask for the given name ("山田 ＊＊"). When the given name
//!   is unknown (a portal sent the whole name in one field) only the first character is kept
//!   ("山＊＊"), so that a full name never appears in a list. The mask has a fixed length so it
//!   does not tell the length of the name either.
//! - **フリガナ**: masked the same way ("ヤマダ ＊＊"). A clerk confirming a caller's identity does
//!   it on the detail page, which is audited; a list of full readings is as identifying as a list
//!   of full names.
//! - **Address**: prefecture and city only. **Phone**: middle group masked ("090-****-5678").
//!   **E-mail**: not shown.
//! - **No criteria, no list**: with an empty form the page shows a hint ("検索条件を入力してください")
//!   instead of the newest donors. A clerk always looks for someone in particular; an unfiltered list
//!   of people is personal data nobody asked for.
//!
//! The helpers for lists (masking, [`QueryParams`], [`Pager`]) are shared with the donation list,
//! the partner screens and the JSON API.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, RawQuery, State};
use axum::http::Method;
use axum::routing::get;
use furusato_db::donations;
use furusato_db::donors::{self, DonorSearch, Page};
use furusato_domain::{PhoneNumber, PostalCode, Yen, jst, kana, normalize, wareki};
use uuid::Uuid;

use crate::access::{Access, Audit, CurrentUser, Permission, Routes};
use crate::error::{AppError, AppResult};
use crate::page::Layout;
use crate::routes::donations::{DonationSummaryRow, donation_route_label, status_badge};
use crate::state::AppState;

/// Rows per page of the screens' lists.
pub const PER_PAGE: u32 = 50;
/// Pages beyond this are not served (the counts stop at 10,000 anyway).
pub const MAX_PAGE: u32 = 10_000;
/// Longest accepted search text.
pub const MAX_CRITERION_CHARS: usize = 100;

/// The mask shown instead of a given name or reading.
pub const MASK: &str = "＊＊";

/// Registers the donor screens.
pub fn register(r: &mut Routes) {
    let read = Access::Perm(Permission::LedgerRead);
    r.add(
        Method::GET,
        "/donors",
        read,
        Audit::None,
        "donor.search",
        get(search),
    );
    r.add(
        Method::GET,
        "/donors/{id}",
        read,
        Audit::PersonalView,
        "donor.view",
        get(show),
    );
}

// ---------------------------------------------------------------------------------------------
// Shared list helpers

/// The parameters of a query string, read leniently: a malformed or repeated parameter never
/// turns into a bare 400; the handler validates each value and answers in Japanese.
#[derive(Clone, Debug, Default)]
pub struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    pub fn parse(raw: Option<&str>) -> QueryParams {
        QueryParams(
            url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The last value of `key`, trimmed; None when absent or blank.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The value of `key` as typed (trimmed), or "" — for refilling a form.
    pub fn value(&self, key: &str) -> String {
        self.get(key).unwrap_or("").to_string()
    }
}

/// The page number of a screen: anything that is not a positive number is page 1.
pub fn lenient_page(p: &QueryParams) -> u32 {
    p.get("page")
        .and_then(|s| s.parse::<u32>().ok())
        .filter(|n| *n >= 1)
        .unwrap_or(1)
        .min(MAX_PAGE)
}

/// "山田 ＊＊"; "山＊＊" when the given name is unknown; "" for an empty name.
pub fn masked_name(family: &str, given: &str) -> String {
    mask_pair(family, given)
}

/// "ヤマダ ＊＊", masked like [`masked_name`].
pub fn masked_kana(family_kana: &str, given_kana: &str) -> String {
    mask_pair(family_kana, given_kana)
}

fn mask_pair(family: &str, given: &str) -> String {
    let family = family.trim();
    if family.is_empty() {
        return if given.trim().is_empty() {
            String::new()
        } else {
            MASK.to_string()
        };
    }
    if given.trim().is_empty() {
        let first: String = family.chars().take(1).collect();
        format!("{first}{MASK}")
    } else {
        format!("{family} {MASK}")
    }
}

/// Prefecture and city only: "宮城県仙台市青葉区".
pub fn area(prefecture: &str, city: &str) -> String {
    format!("{prefecture}{city}")
}

/// "090-****-5678". A number that is not a valid Japanese phone number keeps only its last four
/// digits ("****5678"); a number without digits gives "".
pub fn masked_phone(phone: &str) -> String {
    if let Ok(p) = PhoneNumber::parse(phone) {
        return p.masked();
    }
    let digits = normalize::normalize_digits(phone);
    if digits.is_empty() {
        return String::new();
    }
    // Keep the last four digits only when something remains hidden.
    let keep = if digits.len() > 4 { 4 } else { 0 };
    format!(
        "{}{}",
        "*".repeat(digits.len() - keep),
        &digits[digits.len() - keep..]
    )
}

/// "090-1234-5678" for a valid number, the stored text otherwise.
pub fn phone_display(phone: &str) -> String {
    PhoneNumber::parse(phone)
        .map(|p| p.formatted())
        .unwrap_or_else(|_| phone.to_string())
}

/// "〒980-0811" for a valid code, the stored text otherwise ("" stays "").
pub fn postal_display(code: &str) -> String {
    match PostalCode::parse(code) {
        Ok(p) => format!("〒{}", p.formatted()),
        Err(_) => code.to_string(),
    }
}

/// "10,000円", or "金額未確定" while the amount is not fixed.
pub fn amount_display(amount: Option<i64>) -> String {
    amount
        .map(|a| Yen::new(a).to_string())
        .unwrap_or_else(|| "金額未確定".to_string())
}

/// "123件", or "10,000件以上" when the count stopped at the cap.
pub fn count_label(total: i64, capped: bool) -> String {
    let n = Yen::new(total).format_number();
    if capped {
        format!("{n}件以上")
    } else {
        format!("{n}件")
    }
}

/// `path?k=v&…&page=n` with the non-empty parameters.
pub fn page_href(path: &str, params: &[(&str, String)], page: u32) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params.iter().filter(|(_, v)| !v.is_empty()) {
        s.append_pair(k, v);
    }
    if page > 1 {
        s.append_pair("page", &page.to_string());
    }
    let q = s.finish();
    if q.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{q}")
    }
}

/// The pagination bar of a list: "N件中 X〜Y件" and 前へ/次へ links that keep the filters.
#[derive(Clone, Debug)]
pub struct Pager {
    /// "123件中 51〜100件", "10,000件以上のうち 1〜50件", or "0件".
    pub summary: String,
    pub prev: Option<String>,
    pub next: Option<String>,
    /// "2 / 3 ページ" ("" when the total is capped and the last page is unknown).
    pub position: String,
    /// The page asked for is past the end of the list.
    pub beyond_end: bool,
    /// Link to page 1 (for the "past the end" message).
    pub first: String,
    pub capped: bool,
}

impl Pager {
    pub fn new<T>(page: &Page<T>, path: &str, params: &[(&str, String)]) -> Pager {
        let shown = page.items.len() as i64;
        let from = (page.page as i64 - 1) * page.per_page as i64 + 1;
        let to = from + shown - 1;
        let total = count_label(page.total, page.total_capped);
        let summary = if shown == 0 {
            total.clone()
        } else if page.total_capped {
            format!("{total}のうち {}〜{}件", fmt_n(from), fmt_n(to))
        } else {
            format!("{total}中 {}〜{}件", fmt_n(from), fmt_n(to))
        };
        let prev = (page.page > 1 && shown > 0).then(|| page_href(path, params, page.page - 1));
        let next = (page.has_next() && shown > 0 && page.page < MAX_PAGE)
            .then(|| page_href(path, params, page.page + 1));
        let position = if page.total_capped || page.total == 0 {
            String::new()
        } else {
            format!("{} / {} ページ", page.page, page.total_pages())
        };
        Pager {
            summary,
            prev,
            next,
            position,
            beyond_end: shown == 0 && page.total > 0,
            first: page_href(path, params, 1),
            capped: page.total_capped,
        }
    }
}

fn fmt_n(n: i64) -> String {
    Yen::new(n).format_number()
}

// ---------------------------------------------------------------------------------------------
// Search criteria

/// The donor search form as typed, for refilling the boxes.
#[derive(Clone, Debug, Default)]
pub struct DonorForm {
    pub kana: String,
    pub name: String,
    pub postal_code: String,
    pub phone: String,
    pub donation_number: String,
}

impl DonorForm {
    pub fn from_params(p: &QueryParams) -> DonorForm {
        DonorForm {
            kana: p.value("kana"),
            name: p.value("name"),
            postal_code: p.value("postal_code"),
            phone: p.value("phone"),
            donation_number: p.value("donation_number"),
        }
    }

    /// The criteria as query parameters (for the pager links).
    pub fn params(&self) -> Vec<(&'static str, String)> {
        vec![
            ("kana", self.kana.clone()),
            ("name", self.name.clone()),
            ("postal_code", self.postal_code.clone()),
            ("phone", self.phone.clone()),
            ("donation_number", self.donation_number.clone()),
        ]
    }

    /// Checks every box and builds the search; the errors are Japanese sentences, one per box.
    pub fn to_search(&self) -> Result<DonorSearch, Vec<String>> {
        let mut errors = Vec::new();
        let mut s = DonorSearch::default();
        let boxes = [
            ("フリガナ", &self.kana),
            ("氏名", &self.name),
            ("郵便番号", &self.postal_code),
            ("電話番号", &self.phone),
            ("寄附番号・ポータル注文番号", &self.donation_number),
        ];
        for (label, v) in boxes {
            if v.chars().count() > MAX_CRITERION_CHARS {
                errors.push(format!(
                    "{label}が長すぎます（{MAX_CRITERION_CHARS}文字まで）。"
                ));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        if !self.kana.is_empty() {
            let k = kana::normalize_kana(&self.kana);
            if kana::is_katakana_name(&k) {
                s.kana = Some(k);
            } else {
                errors.push(
                    "フリガナはひらがなまたはカタカナで入力してください（例: やまだ、ヤマダ）。"
                        .into(),
                );
            }
        }
        if !self.name.is_empty() {
            s.name = Some(self.name.clone());
        }
        if !self.postal_code.is_empty() {
            match number_prefix(self.postal_code.trim_start_matches('〒'), 7) {
                Some(d) => s.postal_code = Some(d),
                None => errors.push(
                    "郵便番号は7桁までの数字で入力してください（例: 980-0811。先頭の一部でも検索できます）。".into(),
                ),
            }
        }
        if !self.phone.is_empty() {
            match number_prefix(&self.phone, 11) {
                Some(d) => s.phone = Some(d),
                None => errors.push(
                    "電話番号は11桁までの数字で入力してください（例: 090-1234-5678。先頭の一部でも検索できます）。".into(),
                ),
            }
        }
        if !self.donation_number.is_empty() {
            s.donation_number = Some(self.donation_number.clone());
        }
        if errors.is_empty() {
            Ok(s)
        } else {
            Err(errors)
        }
    }
}

/// The digits of a number typed with the usual separators (hyphens, spaces, parentheses,
/// full-width forms); None when it has other characters, no digit, or more than `max` digits.
fn number_prefix(s: &str, max: usize) -> Option<String> {
    let separators_only = s.chars().all(|c| {
        c.is_ascii_digit()
            || ('０'..='９').contains(&c)
            || c.is_whitespace()
            || matches!(
                c,
                '-' | '－' | 'ー' | '‐' | '−' | '―' | '–' | '(' | ')' | '（' | '）'
            )
    });
    let digits = normalize::normalize_digits(s);
    (separators_only && !digits.is_empty() && digits.len() <= max).then_some(digits)
}

// ---------------------------------------------------------------------------------------------
// Search page

/// One line of the result list (masked).
pub struct DonorRow {
    pub id: Uuid,
    pub name: String,
    pub kana: String,
    pub area: String,
    pub phone: String,
}

impl DonorRow {
    pub fn from_donor(d: &donors::Donor) -> DonorRow {
        DonorRow {
            id: d.id,
            name: masked_name(&d.family_name, &d.given_name),
            kana: masked_kana(&d.family_kana, &d.given_kana),
            area: area(&d.prefecture, &d.city),
            phone: masked_phone(&d.phone),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "donors.html")]
pub struct DonorsPage {
    layout: Layout,
    form: DonorForm,
    errors: Vec<String>,
    /// Criteria were given and valid: the list (maybe empty) is shown.
    searched: bool,
    rows: Vec<DonorRow>,
    pager: Option<Pager>,
    /// Link to the CSV export of the same criteria, for users with the Export permission.
    export_href: Option<String>,
}

/// `GET /donors`
pub async fn search(
    State(state): State<AppState>,
    user: CurrentUser,
    RawQuery(raw): RawQuery,
) -> AppResult<DonorsPage> {
    let p = QueryParams::parse(raw.as_deref());
    let form = DonorForm::from_params(&p);
    let layout = Layout::new(&state, &user, "寄附者検索", "/donors").await;
    let mut page = DonorsPage {
        layout,
        form: form.clone(),
        errors: vec![],
        searched: false,
        rows: vec![],
        pager: None,
        export_href: None,
    };
    let criteria = match form.to_search() {
        Ok(c) => c,
        Err(errors) => {
            page.errors = errors;
            return Ok(page);
        }
    };
    if criteria.is_empty() {
        return Ok(page);
    }
    let result = donors::search(
        &state.db,
        user.tenant,
        &criteria,
        lenient_page(&p),
        PER_PAGE,
    )
    .await?;
    page.searched = true;
    page.rows = result.items.iter().map(DonorRow::from_donor).collect();
    page.pager = Some(Pager::new(&result, "/donors", &form.params()));
    if user.can(Permission::Export) && !result.items.is_empty() {
        page.export_href = Some(page_href("/donors/export", &form.params(), 1));
    }
    Ok(page)
}

// ---------------------------------------------------------------------------------------------
// Detail page

/// The donor's data as shown on the detail page (everything).
pub struct DonorView {
    pub id: Uuid,
    pub name: String,
    pub kana: String,
    pub postal_code: String,
    pub address: String,
    pub phone: String,
    pub email: String,
    pub sex: &'static str,
    pub birth_date: String,
    pub merged: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// "男性", "女性", or "未登録".
pub fn sex_label(sex: &str) -> &'static str {
    match sex {
        "male" => "男性",
        "female" => "女性",
        _ => "未登録",
    }
}

/// "昭和55年3月1日（1980年3月1日）", or "未登録".
pub fn birth_date_label(d: Option<time::Date>) -> String {
    match d {
        Some(d) => format!("{}（{}）", wareki::format(d), jst::format_date_ja(d)),
        None => "未登録".to_string(),
    }
}

impl DonorView {
    pub fn from_donor(d: &donors::Donor) -> DonorView {
        DonorView {
            id: d.id,
            name: d.full_name(),
            kana: d.full_kana(),
            postal_code: postal_display(&d.postal_code),
            address: d.address_line(),
            phone: phone_display(&d.phone),
            email: d.email.clone(),
            sex: sex_label(&d.sex),
            birth_date: birth_date_label(d.birth_date),
            merged: d.merged_into_id.is_some(),
            created_at: jst::format_datetime_ja(d.created_at),
            updated_at: jst::format_datetime_ja(d.updated_at),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "donors_show.html")]
pub struct DonorPage {
    layout: Layout,
    d: DonorView,
    merged_into: Option<Uuid>,
    donations: Vec<DonationSummaryRow>,
    id: Uuid,
    can_write: bool,
    can_write_my_number: bool,
    /// The masked 個人番号 ("****-****-1234"), shown to designated handlers only.
    my_number: Option<String>,
}

/// A path id; anything that is not a UUID is simply not found.
pub fn parse_id(id: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(id).map_err(|_| AppError::NotFound)
}

/// `GET /donors/{id}` (each successful view is audited as `donor.view` by the guard).
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> AppResult<DonorPage> {
    let id = parse_id(&id)?;
    let donor = donors::get(&state.db, user.tenant, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let list = donations::for_donor(&state.db, user.tenant, id).await?;
    // The name stays out of the page title: titles end up in browser history and tab lists.
    let layout = Layout::new(&state, &user, "寄附者の詳細", "/donors").await;
    let donations = list
        .iter()
        .map(|x| DonationSummaryRow {
            id: x.id,
            number: x.donation_number.clone(),
            donated_on: jst::format_date_ja(x.donated_on),
            route: donation_route_label(&x.channel, x.portal.as_deref()),
            external_id: x.external_id.clone().unwrap_or_default(),
            amount: amount_display(x.amount),
            amount_known: x.amount.is_some(),
            status: status_badge(&x.payment_status),
            received_on: x.received_on.map(jst::format_date_ja).unwrap_or_default(),
            onestop: x.onestop_wanted,
        })
        .collect();
    let my_number = if user.can(Permission::MyNumberReveal) {
        furusato_db::vault::get_for_owner(
            &state.db,
            user.tenant,
            crate::routes::my_number::OWNER_KIND,
            id,
            crate::routes::my_number::PURPOSE,
        )
        .await?
        .map(|e| crate::routes::my_number::masked(&e.last4))
    } else {
        None
    };
    Ok(DonorPage {
        layout,
        d: DonorView::from_donor(&donor),
        merged_into: donor.merged_into_id,
        donations,
        id,
        can_write: user.can(Permission::LedgerWrite),
        can_write_my_number: user.can(Permission::MyNumberWrite),
        my_number,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_masked_without_revealing_length() {
        assert_eq!(masked_name("山田", "太郎"), "山田 ＊＊");
        assert_eq!(masked_name("山田", "太一郎"), "山田 ＊＊");
        assert_eq!(masked_name("山田太郎", ""), "山＊＊");
        assert_eq!(masked_kana("ヤマダ", "タロウ"), "ヤマダ ＊＊");
        assert_eq!(masked_name("", ""), "");
    }

    #[test]
    fn phones_are_masked() {
        assert_eq!(masked_phone("090-1234-5678"), "090-****-5678");
        assert_eq!(masked_phone("022-214-1111"), "022-***-1111");
        assert_eq!(masked_phone("12345678"), "****5678");
        assert_eq!(masked_phone("123"), "***");
        assert_eq!(masked_phone(""), "");
    }

    #[test]
    fn criteria_are_checked_in_japanese() {
        let form = DonorForm {
            kana: "やまだ".into(),
            phone: "090-12".into(),
            ..Default::default()
        };
        let s = form.to_search().unwrap();
        assert_eq!(s.kana.as_deref(), Some("ヤマダ"));
        assert_eq!(s.phone.as_deref(), Some("09012"));
        let bad = DonorForm {
            kana: "yamada".into(),
            postal_code: "98O-0811".into(),
            ..Default::default()
        };
        let errors = bad.to_search().unwrap_err();
        assert_eq!(errors.len(), 2);
        assert!(errors[0].contains("フリガナ"));
        assert!(errors[1].contains("郵便番号"));
        assert!(DonorForm::default().to_search().unwrap().is_empty());
    }

    #[test]
    fn query_params_are_lenient() {
        let p = QueryParams::parse(Some("page=abc&kana=%E3%82%84&kana=&name=+"));
        assert_eq!(lenient_page(&p), 1);
        assert_eq!(p.get("kana"), None, "the last value wins, blank is absent");
        assert_eq!(p.get("name"), None);
        let p = QueryParams::parse(Some("page=3&page=0"));
        assert_eq!(lenient_page(&p), 1);
        assert_eq!(lenient_page(&QueryParams::parse(Some("page=4"))), 4);
    }
}
