//! Errors of the web layer. Screens get a Japanese page, the JSON API a JSON body; internal
//! details go to the server log only (never personal data, never a stack trace to the user).

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

pub type AppResult<T> = Result<T, AppError>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: the request itself is wrong; the message is shown to the user (Japanese).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 403
    #[error("forbidden")]
    Forbidden,
    /// 404 (also for rows of another municipality or another partner: their existence is not revealed).
    #[error("not found")]
    NotFound,
    /// 409: the change conflicts with the current state; message in Japanese.
    #[error("conflict: {0}")]
    Conflict(String),
    /// 403 with a CSRF-specific message.
    #[error("csrf token mismatch")]
    Csrf,
    #[error(transparent)]
    Db(#[from] furusato_db::DbError),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Forbidden | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Db(furusato_db::DbError::NotFound(_)) => StatusCode::NOT_FOUND,
            AppError::Db(furusato_db::DbError::Conflict(_)) => StatusCode::CONFLICT,
            AppError::Db(_) | AppError::Other(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the user reads.
    pub fn message_ja(&self) -> String {
        match self {
            AppError::BadRequest(m) | AppError::Conflict(m) => m.clone(),
            AppError::Forbidden => "この画面を表示する権限がありません。".into(),
            AppError::Csrf => "画面の有効期限が切れました。もう一度画面を開き直してから操作してください。".into(),
            AppError::NotFound => "お探しのページまたはデータは見つかりませんでした。".into(),
            AppError::Db(furusato_db::DbError::NotFound(_)) => "お探しのデータは見つかりませんでした。".into(),
            AppError::Db(furusato_db::DbError::Conflict(_)) => {
                "同じデータがすでに登録されています。".into()
            }
            AppError::Db(_) | AppError::Other(_) => {
                "システムエラーが発生しました。時間をおいて再度お試しください。解決しない場合は管理者に連絡してください。".into()
            }
        }
    }

    fn log(&self) {
        if self.status().is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
    }

    /// The JSON form used by `/api/…`.
    pub fn into_json_response(self) -> Response {
        self.log();
        let status = self.status();
        let body = serde_json::json!({
            "error": status.canonical_reason().unwrap_or("error"),
            "message": self.message_ja(),
        });
        (status, axum::Json(body)).into_response()
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    status: u16,
    title: &'static str,
    message: String,
}

/// Renders a bare error page (no navigation: the error may come before we know the user).
pub fn error_page(status: StatusCode, message: String) -> Response {
    let title = match status.as_u16() {
        400 => "入力内容に誤りがあります",
        403 => "アクセスできません",
        404 => "見つかりません",
        409 => "処理できませんでした",
        413 => "ファイルが大きすぎます",
        429 => "アクセスが集中しています",
        _ => "エラーが発生しました",
    };
    let page = ErrorPage {
        status: status.as_u16(),
        title,
        message,
    };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, "エラーが発生しました").into_response(),
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        let status = self.status();
        error_page(status, self.message_ja())
    }
}

/// Wraps an AppError for JSON handlers: `Result<Json<T>, ApiError>`.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0.into_json_response()
    }
}
