//! Donor matching screens: the review queue of likely duplicates (`/intake/matching`), the list
//! of merges with undo (`/intake/matching/merges`), the manual merge from a donor
//! (`/donors/{id}/merge`) and a donor's source history (`/donors/{id}/sources`).
//!
//! Access: deciding about people is ledger work, so the queue, the merge list and the manual merge
//! need [`Permission::LedgerWrite`] (operators) — for viewing too, because the queue shows two
//! people's full data side by side, which only those who decide need. The source history is part
//! of the donor's record and needs [`Permission::LedgerRead`]. Pages with full personal data are
//! audited views (`match_review.list`, `donor.merge_form`, `donor.sources`); each decision is
//! audited in the transaction that makes it (`donor.merge`, `match_review.reject`,
//! `donor.merge_undo`, by `furusato_intake::matching`).
//!
//! The rules (scores, what a merge moves) are in `furusato_intake::matching`.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, RawQuery, State};
use axum::http::Method;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use furusato_db::donors::{self, Donor, DonorSearch};
use furusato_db::matching::{self as store, DonorMerge, MatchReview};
use furusato_domain::jst;
use furusato_intake::matching::{
    self, Agreement, Comparison, Criterion, Link, MatchError, MatchKeys, MergeOrigin, REVIEW_SCORE,
};
use serde::Deserialize;
use uuid::Uuid;

use crate::access::{Access, Audit, Audited, CurrentUser, Permission, Routes};
use crate::error::{AppError, AppResult};
use crate::page::Layout;
use crate::routes::donors::{
    MAX_CRITERION_CHARS, Pager, QueryParams, lenient_page, masked_name, parse_id, phone_display,
    postal_display,
};
use crate::state::AppState;

/// Registers the matching screens.
pub fn register(r: &mut Routes) {
    let write = Access::Perm(Permission::LedgerWrite);
    let read = Access::Perm(Permission::LedgerRead);
    let (g, p) = (Method::GET, Method::POST);
    r.add(
        g.clone(),
        "/intake/matching",
        write,
        Audit::PersonalView,
        "match_review.list",
        get(queue),
    );
    r.add(
        p.clone(),
        "/intake/matching/{id}/merge",
        write,
        Audit::None,
        "match_review.merge",
        post(review_merge),
    );
    r.add(
        p.clone(),
        "/intake/matching/{id}/reject",
        write,
        Audit::None,
        "match_review.reject",
        post(review_reject),
    );
    r.add(
        g.clone(),
        "/intake/matching/merges",
        write,
        Audit::None,
        "donor_merge.list",
        get(merges),
    );
    r.add(
        p.clone(),
        "/intake/matching/merges/{id}/undo",
        write,
        Audit::None,
        "donor_merge.undo",
        post(undo),
    );
    r.add(
        g.clone(),
        "/donors/{id}/merge",
        write,
        Audit::PersonalView,
        "donor.merge_form",
        get(merge_form),
    );
    r.add(
        p,
        "/donors/{id}/merge",
        write,
        Audit::None,
        "donor.merge",
        post(merge_submit),
    );
    r.add(
        g,
        "/donors/{id}/sources",
        read,
        Audit::PersonalView,
        "donor.sources",
        get(sources),
    );
}

/// Reviews per page of the queue.
const QUEUE_PER_PAGE: u32 = 20;
/// Merges per page of the merge list.
const MERGES_PER_PAGE: u32 = 50;
/// Search results on the manual merge page.
const SEARCH_LIMIT: u32 = 20;

fn match_error(e: MatchError) -> AppError {
    match e {
        MatchError::Db(e) => AppError::Db(e),
        MatchError::DonorNotFound | MatchError::ReviewNotFound | MatchError::MergeNotFound => {
            AppError::NotFound
        }
        other => AppError::Conflict(other.message_ja()),
    }
}

fn done_notice(p: &QueryParams) -> Option<String> {
    Some(
        match p.get("done")? {
            "merged" => {
                "同一人物として統合しました。誤りだった場合は「統合の履歴」から取り消せます。"
            }
            "rejected" => "別人として記録しました。この組み合わせは確認待ちから外れます。",
            "undone" => "統合を取り消しました。寄附と取込元の記録を元の寄附者に戻しました。",
            _ => return None,
        }
        .to_string(),
    )
}

/// A donor's data for a side-by-side comparison.
pub struct PersonView {
    pub id: Uuid,
    pub name: String,
    pub kana: String,
    pub postal_code: String,
    pub address: String,
    pub phone: String,
    pub created_at: String,
    pub donations: i64,
    pub merged: bool,
}

impl PersonView {
    fn of(d: &Donor, donations: i64) -> PersonView {
        PersonView {
            id: d.id,
            name: d.full_name(),
            kana: d.full_kana(),
            postal_code: postal_display(&d.postal_code),
            address: d.address_line(),
            phone: phone_display(&d.phone),
            created_at: jst::format_datetime_ja(d.created_at),
            donations,
            merged: d.merged_into_id.is_some(),
        }
    }
}

/// One compared field: its label, both values and how they compare (CSS class).
pub struct FieldRow {
    pub label: &'static str,
    pub left: String,
    pub right: String,
    /// `match`, `differs` or `` (unknown).
    pub class: &'static str,
    pub verdict: &'static str,
}

fn agreement_class(a: Agreement) -> (&'static str, &'static str) {
    match a {
        Agreement::Same => ("match", "一致"),
        Agreement::Differs => ("differs", "相違"),
        Agreement::Unknown => ("", "—"),
    }
}

fn field_rows(a: &PersonView, b: &PersonView, c: &Comparison) -> Vec<FieldRow> {
    let row = |label, left: &str, right: &str, crit: Option<Criterion>| {
        let (class, verdict) = crit.map(|k| agreement_class(c.get(k))).unwrap_or(("", ""));
        FieldRow {
            label,
            left: left.to_string(),
            right: right.to_string(),
            class,
            verdict,
        }
    };
    vec![
        row("氏名", &a.name, &b.name, Some(Criterion::Name)),
        row("フリガナ", &a.kana, &b.kana, Some(Criterion::Kana)),
        row(
            "郵便番号",
            &a.postal_code,
            &b.postal_code,
            Some(Criterion::PostalCode),
        ),
        row("住所", &a.address, &b.address, Some(Criterion::Address)),
        row("電話番号", &a.phone, &b.phone, Some(Criterion::Phone)),
        row(
            "寄附件数",
            &format!("{}件", a.donations),
            &format!("{}件", b.donations),
            None,
        ),
        row("登録日時", &a.created_at, &b.created_at, None),
    ]
}

/// Loads donors and their donation counts by id.
async fn people(
    state: &AppState,
    user: &CurrentUser,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, (Donor, i64)>> {
    let donors = store::donors_by_ids(&state.db, user.tenant, ids).await?;
    let counts: HashMap<Uuid, i64> = store::donation_counts(&state.db, user.tenant, ids)
        .await?
        .into_iter()
        .collect();
    Ok(donors
        .into_iter()
        .map(|d| {
            let n = counts.get(&d.id).copied().unwrap_or(0);
            (d.id, (d, n))
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Review queue

/// One pending pair.
pub struct ReviewCard {
    pub id: Uuid,
    pub score: i64,
    pub rule: &'static str,
    pub reasons: String,
    pub created_at: String,
    pub left: PersonView,
    pub right: PersonView,
    pub fields: Vec<FieldRow>,
    /// The donor kept by default: the older one.
    pub default_keep: Uuid,
}

#[derive(Template, WebTemplate)]
#[template(path = "matching.html")]
pub struct QueuePage {
    layout: Layout,
    cards: Vec<ReviewCard>,
    pager: Pager,
    auto_score: u8,
    review_score: u8,
}

fn reasons_label(r: &MatchReview) -> String {
    r.reason_codes()
        .iter()
        .filter_map(|c| Criterion::parse(c))
        .map(|c| c.label_ja())
        .collect::<Vec<_>>()
        .join("・")
}

/// `GET /intake/matching`
pub async fn queue(
    State(state): State<AppState>,
    user: CurrentUser,
    RawQuery(raw): RawQuery,
) -> AppResult<QueuePage> {
    let p = QueryParams::parse(raw.as_deref());
    let page =
        store::pending_reviews(&state.db, user.tenant, lenient_page(&p), QUEUE_PER_PAGE).await?;
    let ids: Vec<Uuid> = page
        .items
        .iter()
        .flat_map(|r| [r.donor_id, r.candidate_id])
        .collect();
    let found = people(&state, &user, &ids).await?;
    let mut cards = Vec::new();
    for r in &page.items {
        let (Some((a, an)), Some((b, bn))) = (found.get(&r.donor_id), found.get(&r.candidate_id))
        else {
            continue;
        };
        let score = matching::score(&MatchKeys::of_donor(a), &MatchKeys::of_donor(b));
        let (left, right) = (PersonView::of(a, *an), PersonView::of(b, *bn));
        let fields = field_rows(&left, &right, &score.comparison);
        let default_keep = if (b.created_at, b.id) < (a.created_at, a.id) {
            b.id
        } else {
            a.id
        };
        cards.push(ReviewCard {
            id: r.id,
            score: r.score,
            rule: score.rule.label_ja(),
            reasons: reasons_label(r),
            created_at: jst::format_datetime_ja(r.created_at),
            left,
            right,
            fields,
            default_keep,
        });
    }
    let pager = Pager::new(&page, "/intake/matching", &[]);
    let layout = Layout::new(&state, &user, "寄附者の名寄せ確認", "/intake")
        .await
        .with_notice(done_notice(&p));
    Ok(QueuePage {
        layout,
        cards,
        pager,
        auto_score: matching::AUTO_LINK_SCORE,
        review_score: REVIEW_SCORE,
    })
}

#[derive(Deserialize)]
pub struct MergeForm {
    /// The donor to keep (one of the pair); the older one when absent.
    #[serde(default)]
    keep: String,
}

fn optional_id(s: &str) -> AppResult<Option<Uuid>> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    Uuid::parse_str(s).map(Some).map_err(|_| {
        AppError::BadRequest(
            "残す寄附者の指定が正しくありません。画面を開き直してください。".into(),
        )
    })
}

fn audited_redirect(to: &str) -> Response {
    let mut resp = Redirect::to(to).into_response();
    resp.extensions_mut().insert(Audited);
    resp
}

/// `POST /intake/matching/{id}/merge`
pub async fn review_merge(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<MergeForm>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let keep = optional_id(&form.keep)?;
    let mut tx = state.db.begin().await?;
    matching::merge_review(&mut tx, user.tenant, &user.audit("donor.merge"), id, keep)
        .await
        .map_err(match_error)?;
    tx.commit().await?;
    Ok(audited_redirect("/intake/matching?done=merged"))
}

/// `POST /intake/matching/{id}/reject`
pub async fn review_reject(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let mut tx = state.db.begin().await?;
    matching::reject_review(&mut tx, user.tenant, &user.audit("match_review.reject"), id)
        .await
        .map_err(match_error)?;
    tx.commit().await?;
    Ok(audited_redirect("/intake/matching?done=rejected"))
}

// ---------------------------------------------------------------------------------------------
// Merges

/// One line of the merge list (names masked: the list is for finding a merge, not for reading
/// people's data).
pub struct MergeRow {
    pub id: Uuid,
    pub merged_at: String,
    pub merged_by: String,
    pub kept_id: Uuid,
    pub kept_name: String,
    pub merged_id: Uuid,
    pub merged_name: String,
    pub donations: usize,
    pub sources: usize,
    pub from_review: bool,
    /// "2026年1月5日 10:00（operator1）" when undone.
    pub undone: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "matching_merges.html")]
pub struct MergesPage {
    layout: Layout,
    rows: Vec<MergeRow>,
    pager: Pager,
}

fn merge_rows(list: &[DonorMerge], names: &HashMap<Uuid, (Donor, i64)>) -> Vec<MergeRow> {
    let name = |id: &Uuid| {
        names
            .get(id)
            .map(|(d, _)| masked_name(&d.family_name, &d.given_name))
            .unwrap_or_default()
    };
    list.iter()
        .map(|m| {
            let moved = m.moved().unwrap_or_default();
            MergeRow {
                id: m.id,
                merged_at: jst::format_datetime_ja(m.merged_at),
                merged_by: m.merged_by.clone(),
                kept_id: m.kept_id,
                kept_name: name(&m.kept_id),
                merged_id: m.merged_id,
                merged_name: name(&m.merged_id),
                donations: moved.donations.len(),
                sources: moved.sources.len(),
                from_review: moved.review.is_some(),
                undone: m
                    .undone_at
                    .map(|t| format!("{}（{}）", jst::format_datetime_ja(t), m.undone_by)),
            }
        })
        .collect()
}

/// `GET /intake/matching/merges`
pub async fn merges(
    State(state): State<AppState>,
    user: CurrentUser,
    RawQuery(raw): RawQuery,
) -> AppResult<MergesPage> {
    let p = QueryParams::parse(raw.as_deref());
    let page = store::merges(&state.db, user.tenant, lenient_page(&p), MERGES_PER_PAGE).await?;
    let ids: Vec<Uuid> = page
        .items
        .iter()
        .flat_map(|m| [m.kept_id, m.merged_id])
        .collect();
    let names = people(&state, &user, &ids).await?;
    let rows = merge_rows(&page.items, &names);
    let pager = Pager::new(&page, "/intake/matching/merges", &[]);
    let layout = Layout::new(&state, &user, "寄附者の統合の履歴", "/intake")
        .await
        .with_notice(done_notice(&p));
    Ok(MergesPage {
        layout,
        rows,
        pager,
    })
}

/// `POST /intake/matching/merges/{id}/undo`
pub async fn undo(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let mut tx = state.db.begin().await?;
    matching::undo_merge(&mut tx, user.tenant, &user.audit("donor.merge_undo"), id)
        .await
        .map_err(match_error)?;
    tx.commit().await?;
    Ok(audited_redirect("/intake/matching/merges?done=undone"))
}

// ---------------------------------------------------------------------------------------------
// Manual merge

/// A donor that could be merged with the page's donor.
pub struct CandidateRow {
    pub person: PersonView,
    /// "85点（フリガナと電話番号が一致し住所が異なる）" for suggestions, "" for search results.
    pub score: String,
    /// The donor kept by default: the older one.
    pub keep_this: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "matching_donor_merge.html")]
pub struct MergeFormPage {
    layout: Layout,
    donor: PersonView,
    merged_into: Option<Uuid>,
    number: String,
    kana: String,
    searched: bool,
    errors: Vec<String>,
    suggestions: Vec<CandidateRow>,
    results: Vec<CandidateRow>,
}

fn keep_this(this: &Donor, other_created: time::OffsetDateTime, other_id: Uuid) -> bool {
    (this.created_at, this.id) <= (other_created, other_id)
}

/// `GET /donors/{id}/merge`
pub async fn merge_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> AppResult<MergeFormPage> {
    let id = parse_id(&id)?;
    let donor = donors::get(&state.db, user.tenant, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let p = QueryParams::parse(raw.as_deref());
    let number = p.value("number");
    let kana = p.value("kana");
    let mut errors = Vec::new();
    if number.chars().count() > MAX_CRITERION_CHARS || kana.chars().count() > MAX_CRITERION_CHARS {
        errors.push(format!(
            "検索条件が長すぎます（{MAX_CRITERION_CHARS}文字まで）。"
        ));
    }
    let kana_norm = furusato_domain::kana::normalize_kana(&kana);
    if !kana.is_empty() && !furusato_domain::kana::is_katakana_name(&kana_norm) {
        errors.push("フリガナはひらがなまたはカタカナで入力してください。".into());
    }
    let own = store::donation_counts(&state.db, user.tenant, &[id])
        .await?
        .first()
        .map(|c| c.1)
        .unwrap_or(0);
    let title = format!("寄附者の統合（{}）", donor.full_name());
    let layout = Layout::new(&state, &user, title, "/donors").await;
    let mut page = MergeFormPage {
        layout,
        donor: PersonView::of(&donor, own),
        merged_into: donor.merged_into_id,
        number: number.clone(),
        kana: kana.clone(),
        searched: false,
        errors,
        suggestions: vec![],
        results: vec![],
    };
    if donor.merged_into_id.is_some() {
        return Ok(page);
    }
    let suggested = matching::suggestions(&state.db, user.tenant, &donor).await?;
    let mut ids: Vec<Uuid> = suggested.iter().map(|(c, _)| c.id).collect();
    let mut found = Vec::new();
    if page.errors.is_empty() && (!number.is_empty() || !kana.is_empty()) {
        let search = DonorSearch {
            kana: (!kana.is_empty()).then(|| kana_norm.clone()),
            donation_number: (!number.is_empty()).then(|| number.clone()),
            ..Default::default()
        };
        found = donors::search(&state.db, user.tenant, &search, 1, SEARCH_LIMIT)
            .await?
            .items;
        found.retain(|d| d.id != id);
        ids.extend(found.iter().map(|d| d.id));
        page.searched = true;
    }
    let counts: HashMap<Uuid, i64> = store::donation_counts(&state.db, user.tenant, &ids)
        .await?
        .into_iter()
        .collect();
    let n = |id: &Uuid| counts.get(id).copied().unwrap_or(0);
    let suggested_ids: Vec<Uuid> = suggested.iter().map(|(c, _)| c.id).collect();
    let suggested_donors = store::donors_by_ids(&state.db, user.tenant, &suggested_ids).await?;
    for (c, s) in &suggested {
        if let Some(d) = suggested_donors.iter().find(|d| d.id == c.id) {
            page.suggestions.push(CandidateRow {
                person: PersonView::of(d, n(&d.id)),
                score: format!("{}点（{}）", s.value, s.rule.label_ja()),
                keep_this: keep_this(&donor, d.created_at, d.id),
            });
        }
    }
    page.results = found
        .iter()
        .map(|d| CandidateRow {
            person: PersonView::of(d, n(&d.id)),
            score: String::new(),
            keep_this: keep_this(&donor, d.created_at, d.id),
        })
        .collect();
    Ok(page)
}

#[derive(Deserialize)]
pub struct ManualMergeForm {
    /// The other donor.
    other: String,
    /// `this` (keep the page's donor) or `other`.
    keep: String,
}

/// `POST /donors/{id}/merge`
pub async fn merge_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<ManualMergeForm>,
) -> AppResult<Response> {
    let this = parse_id(&id)?;
    let other = Uuid::parse_str(form.other.trim()).map_err(|_| {
        AppError::BadRequest(
            "統合する寄附者の指定が正しくありません。画面を開き直してください。".into(),
        )
    })?;
    let (kept, merged) = match form.keep.as_str() {
        "this" => (this, other),
        "other" => (other, this),
        _ => return Err(AppError::BadRequest("残す寄附者を選んでください。".into())),
    };
    let mut tx = state.db.begin().await?;
    let out = matching::merge_donors(
        &mut tx,
        user.tenant,
        &user.audit("donor.merge"),
        kept,
        merged,
        MergeOrigin::Manual,
    )
    .await
    .map_err(match_error)?;
    tx.commit().await?;
    Ok(audited_redirect(&format!(
        "/donors/{}/sources?done=merged",
        out.kept_id
    )))
}

// ---------------------------------------------------------------------------------------------
// Source history

/// What `donor_sources.source` means, for the screen.
pub fn source_label(source: &str) -> String {
    match source {
        "rakuten" => "楽天ふるさと納税（RMS連携）".into(),
        "manual" => "手入力".into(),
        "merge" => "寄附者の統合".into(),
        s => match s.strip_prefix("csv:") {
            Some("choice") => "ふるさとチョイス（CSV取込）".into(),
            Some("redhorse") => "レッドホース形式（CSV取込）".into(),
            Some(profile) => format!("CSV取込（{profile}）"),
            None => s.to_string(),
        },
    }
}

/// One source record.
pub struct SourceRow {
    pub received_at: String,
    pub source: String,
    pub external_id: String,
    pub link: &'static str,
    pub name: String,
    pub kana: String,
    pub postal_code: String,
    pub address: String,
    pub phone: String,
    /// The donor a merge marker stands for.
    pub merged_donor: Option<Uuid>,
}

/// A merge affecting the donor.
pub struct DonorMergeRow {
    pub merged_at: String,
    pub merged_by: String,
    /// "この寄附者に統合" or "別の寄附者へ統合".
    pub direction: &'static str,
    pub other_id: Uuid,
    pub donations: usize,
    pub undone: Option<String>,
}

/// A review involving the donor.
pub struct DonorReviewRow {
    pub other_id: Uuid,
    pub score: i64,
    pub status: &'static str,
    pub created_at: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "matching_donor_sources.html")]
pub struct SourcesPage {
    layout: Layout,
    donor: PersonView,
    merged_into: Option<Uuid>,
    rows: Vec<SourceRow>,
    merges: Vec<DonorMergeRow>,
    reviews: Vec<DonorReviewRow>,
    can_write: bool,
}

fn snapshot_field(v: &serde_json::Value, key: &str) -> String {
    v.get(key)
        .and_then(|x| x.as_str())
        .unwrap_or("")
        .to_string()
}

/// `GET /donors/{id}/sources`
pub async fn sources(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> AppResult<SourcesPage> {
    let id = parse_id(&id)?;
    let donor = donors::get(&state.db, user.tenant, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let p = QueryParams::parse(raw.as_deref());
    let own = store::donation_counts(&state.db, user.tenant, &[id])
        .await?
        .first()
        .map(|c| c.1)
        .unwrap_or(0);
    let rows = store::sources_for_donor(&state.db, user.tenant, id)
        .await?
        .into_iter()
        .map(|s| {
            let snap: serde_json::Value = serde_json::from_str(&s.snapshot).unwrap_or_default();
            SourceRow {
                received_at: jst::format_datetime_ja(s.created_at),
                source: source_label(&s.source),
                external_id: s.external_id.clone(),
                link: Link::parse(&s.link).map(Link::label_ja).unwrap_or("—"),
                name: snapshot_field(&snap, "name"),
                kana: snapshot_field(&snap, "kana"),
                postal_code: postal_display(&snapshot_field(&snap, "postal_code")),
                address: snapshot_field(&snap, "address"),
                phone: phone_display(&snapshot_field(&snap, "phone")),
                merged_donor: (s.source == "merge")
                    .then(|| Uuid::parse_str(&s.external_id).ok())
                    .flatten(),
            }
        })
        .collect();
    let merges = store::merges_for_donor(&state.db, user.tenant, id)
        .await?
        .iter()
        .map(|m| {
            let kept = m.kept_id == id;
            DonorMergeRow {
                merged_at: jst::format_datetime_ja(m.merged_at),
                merged_by: m.merged_by.clone(),
                direction: if kept {
                    "この寄附者に統合"
                } else {
                    "別の寄附者へ統合"
                },
                other_id: if kept { m.merged_id } else { m.kept_id },
                donations: m.moved().map(|x| x.donations.len()).unwrap_or(0),
                undone: m
                    .undone_at
                    .map(|t| format!("{}（{}）", jst::format_datetime_ja(t), m.undone_by)),
            }
        })
        .collect();
    let reviews = store::reviews_for_donor(&state.db, user.tenant, id)
        .await?
        .iter()
        .map(|r| DonorReviewRow {
            other_id: if r.donor_id == id {
                r.candidate_id
            } else {
                r.donor_id
            },
            score: r.score,
            status: match r.status.as_str() {
                store::REVIEW_PENDING => "確認待ち",
                store::REVIEW_MERGED => "同一人物として統合",
                store::REVIEW_REJECTED => "別人と判断",
                _ => "—",
            },
            created_at: jst::format_datetime_ja(r.created_at),
        })
        .collect();
    let title = format!("寄附者の取込元の記録（{}）", donor.full_name());
    let layout = Layout::new(&state, &user, title, "/donors")
        .await
        .with_notice(done_notice(&p));
    Ok(SourcesPage {
        layout,
        donor: PersonView::of(&donor, own),
        merged_into: donor.merged_into_id,
        rows,
        merges,
        reviews,
        can_write: user.can(Permission::LedgerWrite),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_named_in_japanese() {
        assert_eq!(source_label("rakuten"), "楽天ふるさと納税（RMS連携）");
        assert_eq!(source_label("csv:choice"), "ふるさとチョイス（CSV取込）");
        assert_eq!(
            source_label("csv:satofull-2026"),
            "CSV取込（satofull-2026）"
        );
        assert_eq!(source_label("merge"), "寄附者の統合");
    }
}
