//! `/admin/settings`: the issuer details printed on documents (寄附金受領証明書, お礼状, 申告特例通知書)
//! and the retention period of each class of data (see `furusato_db::retention`).

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use furusato_db::audit;
use furusato_db::municipalities::{self, Municipality, NewMunicipality};
use furusato_db::retention::{self, DataClass, MAX_KEEP_DAYS};
use furusato_domain::{PhoneNumber, PostalCode, jst};
use serde::Deserialize;

use super::{SelectOption, bad_request};
use crate::access::{Audited, CurrentUser};
use crate::error::{AppError, AppResult};
use crate::page::Layout;
use crate::state::AppState;

/// The issuer form (refilled after an error).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct IssuerForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    name_kana: String,
    #[serde(default)]
    mayor_title: String,
    #[serde(default)]
    mayor_name: String,
    #[serde(default)]
    postal_code: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    phone: String,
}

impl IssuerForm {
    fn of(m: &Municipality) -> IssuerForm {
        IssuerForm {
            name: m.name.clone(),
            name_kana: m.name_kana.clone(),
            mayor_title: m.mayor_title.clone(),
            mayor_name: m.mayor_name.clone(),
            postal_code: m.issuer_postal_code.clone(),
            address: m.issuer_address.clone(),
            department: m.issuer_department.clone(),
            phone: m.issuer_phone.clone(),
        }
    }

    /// The values to store (normalised), or the Japanese messages of what is wrong.
    fn validate(&self) -> Result<IssuerForm, Vec<String>> {
        let mut errors = vec![];
        let mut need = |v: &str, label: &str, max: usize| {
            let v = v.trim();
            if v.is_empty() {
                errors.push(format!("{label}を入力してください。"));
            } else if v.chars().count() > max {
                errors.push(format!("{label}は{max}文字以内で入力してください。"));
            }
            v.to_string()
        };
        let name = need(&self.name, "団体名", 40);
        let mayor_title = need(&self.mayor_title, "首長の職名", 40);
        let mayor_name = need(&self.mayor_name, "首長の氏名", 40);
        let address = need(&self.address, "所在地", 200);
        let department = need(&self.department, "担当課", 100);
        let mut limit = |v: &str, label: &str, max: usize| {
            let v = v.trim();
            if v.chars().count() > max {
                errors.push(format!("{label}は{max}文字以内で入力してください。"));
            }
            v.to_string()
        };
        let name_kana = limit(&self.name_kana, "団体名のフリガナ", 80);
        let postal_code = match self.postal_code.trim() {
            "" => {
                errors.push("郵便番号を入力してください。".into());
                String::new()
            }
            s => match PostalCode::parse(s) {
                Ok(p) => p.formatted(),
                Err(e) => {
                    errors.push(format!("郵便番号：{}", e.message_ja()));
                    s.to_string()
                }
            },
        };
        let phone = match self.phone.trim() {
            "" => {
                errors.push(
                    "電話番号を入力してください（書類に問い合わせ先として印刷します）。".into(),
                );
                String::new()
            }
            s => match PhoneNumber::parse(s) {
                Ok(p) => p.formatted(),
                Err(e) => {
                    errors.push(format!("電話番号：{}", e.message_ja()));
                    s.to_string()
                }
            },
        };
        if errors.is_empty() {
            Ok(IssuerForm {
                name,
                name_kana,
                mayor_title,
                mayor_name,
                postal_code,
                address,
                department,
                phone,
            })
        } else {
            Err(errors)
        }
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name, "name_kana": self.name_kana, "mayor_title": self.mayor_title,
            "mayor_name": self.mayor_name, "postal_code": self.postal_code, "address": self.address,
            "department": self.department, "phone": self.phone,
        })
    }
}

/// One retention class on the screen.
pub struct PolicyRow {
    pub class: &'static str,
    pub label: &'static str,
    pub contents: &'static str,
    pub reference: &'static str,
    pub basis: &'static str,
    pub keep: String,
    pub is_default: bool,
    pub default_keep: String,
    pub erasable: bool,
    pub amount: String,
    pub units: Vec<SelectOption>,
    pub updated_at: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_settings.html")]
pub struct SettingsPage {
    layout: Layout,
    code: String,
    issuer: IssuerForm,
    issuer_errors: Vec<String>,
    policies: Vec<PolicyRow>,
    retention_error: Option<(String, String)>,
}

fn units(years: bool) -> Vec<SelectOption> {
    vec![
        SelectOption {
            value: "years".into(),
            label: "年".into(),
            selected: years,
        },
        SelectOption {
            value: "days".into(),
            label: "日".into(),
            selected: !years,
        },
    ]
}

async fn page(
    state: &AppState,
    user: &CurrentUser,
    issuer: Option<IssuerForm>,
    issuer_errors: Vec<String>,
    retention_error: Option<(String, String)>,
    notice: Option<String>,
) -> AppResult<SettingsPage> {
    let m = municipalities::get(&state.db, user.tenant).await?;
    let policies = retention::policies(&state.db, user.tenant)
        .await?
        .into_iter()
        .map(|p| {
            let years = p.keep_days.and_then(retention::whole_years);
            PolicyRow {
                class: p.class.as_str(),
                label: p.class.label_ja(),
                contents: p.class.contents_ja(),
                reference: p.class.reference_ja(),
                basis: p.class.basis_ja(),
                keep: p.keep_label(),
                is_default: p.is_default,
                default_keep: p
                    .class
                    .default_keep_days()
                    .map(retention::describe_days)
                    .unwrap_or_else(|| "消去しない".into()),
                erasable: p.class.erasable(),
                amount: match (years, p.keep_days) {
                    (Some(y), _) => y.to_string(),
                    (None, Some(d)) => d.to_string(),
                    _ => String::new(),
                },
                units: units(years.is_some() || p.keep_days.is_none()),
                updated_at: p
                    .updated_at
                    .map(jst::format_datetime_ja)
                    .unwrap_or_default(),
            }
        })
        .collect();
    Ok(SettingsPage {
        layout: Layout::new(state, user, "設定", "/admin/settings")
            .await
            .with_notice(notice),
        code: m.code.clone(),
        issuer: issuer.unwrap_or_else(|| IssuerForm::of(&m)),
        issuer_errors,
        policies,
        retention_error,
    })
}

#[derive(Deserialize, Default)]
pub struct DoneQuery {
    done: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<DoneQuery>,
) -> AppResult<SettingsPage> {
    let notice = match q.done.as_deref() {
        Some("issuer") => Some("発行者情報を保存しました。これから作成する書類に反映されます（発行済みの書類は変わりません）。".to_string()),
        Some("retention") => Some("保存期間を保存しました。次回の消去（furusato erase）から適用されます。".to_string()),
        Some("nochange") => Some("変更はありませんでした。".to_string()),
        _ => None,
    };
    page(&state, &user, None, vec![], None, notice).await
}

pub async fn save_issuer(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<IssuerForm>,
) -> AppResult<Response> {
    let clean = match form.validate() {
        Ok(c) => c,
        Err(errors) => {
            return Ok(bad_request(
                page(&state, &user, Some(form), errors, None, None).await?,
            ));
        }
    };
    let m = municipalities::get(&state.db, user.tenant).await?;
    let before = IssuerForm::of(&m);
    let (b, a) = (before.json(), clean.json());
    let changed: Vec<&str> = a
        .as_object()
        .map(|o| {
            o.keys()
                .filter(|k| b.get(k.as_str()) != a.get(k.as_str()))
                .map(|k| k.as_str())
                .collect()
        })
        .unwrap_or_default();
    if changed.is_empty() {
        return Ok(Redirect::to("/admin/settings?done=nochange").into_response());
    }
    municipalities::update_issuer(
        &state.db,
        user.tenant,
        &NewMunicipality {
            code: m.code.clone(),
            name: clean.name.clone(),
            name_kana: clean.name_kana.clone(),
            prefecture_code: m.prefecture_code,
            mayor_title: clean.mayor_title.clone(),
            mayor_name: clean.mayor_name.clone(),
            issuer_postal_code: clean.postal_code.clone(),
            issuer_address: clean.address.clone(),
            issuer_department: clean.department.clone(),
            issuer_phone: clean.phone.clone(),
        },
    )
    .await?;
    // Public information of the city (not personal data): stored with its old and new values.
    let entry = user
        .audit("settings.issuer")
        .target("municipality", user.tenant)
        .detail(serde_json::json!({
            "changed": changed, "before": b, "after": a,
        }));
    audit::record(&state.db, &entry).await?;
    let mut resp = Redirect::to("/admin/settings?done=issuer").into_response();
    resp.extensions_mut().insert(Audited);
    Ok(resp)
}

#[derive(Deserialize, Default)]
pub struct RetentionForm {
    #[serde(default)]
    class: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    unit: String,
}

/// Reads "10" + "years" → days; Japanese message on error.
fn keep_days(amount: &str, unit: &str) -> Result<i64, String> {
    let t = amount.trim();
    let only_digits = !t.is_empty()
        && t.chars()
            .all(|c| c.is_ascii_digit() || ('０'..='９').contains(&c));
    let n: i64 = match furusato_domain::normalize::normalize_digits(t).parse() {
        Ok(n) if only_digits && t.chars().count() <= 6 => n,
        _ => return Err("保存期間は数字（整数）で入力してください。".into()),
    };
    match unit {
        "years" if (1..=100).contains(&n) => Ok(retention::years_to_days(n)),
        "years" => Err("保存期間は1〜100年の範囲で入力してください。".into()),
        "days" if (1..=MAX_KEEP_DAYS).contains(&n) => Ok(n),
        "days" => Err(format!(
            "保存期間は1〜{MAX_KEEP_DAYS}日の範囲で入力してください。"
        )),
        _ => Err("単位（年・日）を選択してください。".into()),
    }
}

pub async fn save_retention(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<RetentionForm>,
) -> AppResult<Response> {
    let class = DataClass::parse(form.class.trim())
        .ok_or_else(|| AppError::BadRequest("データ区分が正しくありません。".into()))?;
    if !class.erasable() {
        return Err(AppError::BadRequest(
            "操作記録は消去の対象外のため、保存期間は設定できません。".into(),
        ));
    }
    let days = match keep_days(&form.amount, form.unit.trim()) {
        Ok(d) => d,
        Err(msg) => {
            let err = Some((class.as_str().to_string(), msg));
            return Ok(bad_request(
                page(&state, &user, None, vec![], err, None).await?,
            ));
        }
    };
    let before = retention::policies(&state.db, user.tenant)
        .await?
        .into_iter()
        .find(|p| p.class == class)
        .and_then(|p| p.keep_days);
    if before == Some(days) {
        return Ok(Redirect::to("/admin/settings?done=nochange").into_response());
    }
    let mut tx = state.db.begin().await?;
    retention::set_keep_days(&mut tx, user.tenant, class, days).await?;
    let entry = user
        .audit("settings.retention")
        .target("data_class", class.as_str())
        .detail(serde_json::json!({
            "before_days": before, "after_days": days, "after": retention::describe_days(days),
        }));
    audit::append(&mut tx, &entry).await?;
    tx.commit().await?;
    let mut resp = Redirect::to("/admin/settings?done=retention").into_response();
    resp.extensions_mut().insert(Audited);
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_periods_are_read_with_units() {
        assert_eq!(keep_days("10", "years"), Ok(3653));
        assert_eq!(keep_days("１０", "years"), Ok(3653));
        assert_eq!(keep_days("400", "days"), Ok(400));
        assert!(keep_days("0", "years").is_err());
        assert!(keep_days("101", "years").is_err());
        assert!(keep_days("1.5", "years").is_err());
        assert!(keep_days("", "days").is_err());
        assert!(keep_days("5", "months").is_err());
    }

    #[test]
    fn issuer_form_explains_each_problem() {
        let f = IssuerForm {
            postal_code: "12".into(),
            phone: "abc".into(),
            ..Default::default()
        };
        let errors = f.validate().unwrap_err();
        assert!(errors.iter().any(|e| e == "団体名を入力してください。"));
        assert!(errors.iter().any(|e| e.starts_with("郵便番号：")));
        assert!(errors.iter().any(|e| e.starts_with("電話番号：")));
        let ok = IssuerForm {
            name: "仙台市".into(),
            name_kana: "センダイシ".into(),
            mayor_title: "仙台市長".into(),
            mayor_name: "郡 和子".into(),
            postal_code: "９８０８６７１".into(),
            address: "宮城県仙台市青葉区国分町三丁目7番1号".into(),
            department: "財政局 ふるさと納税担当".into(),
            phone: "022-261-1111".into(),
        }
        .validate()
        .unwrap();
        assert_eq!(ok.postal_code, "980-8671");
    }
}
