//! Shared state of the web server.

use std::ops::Deref;
use std::sync::Arc;

use furusato_db::Db;
use furusato_vault::Keyring;

use crate::settings::WebSettings;

/// Cheap to clone; handlers take it as `State(state): State<AppState>`.
#[derive(Clone)]
pub struct AppState(Arc<App>);

pub struct App {
    pub db: Db,
    pub settings: WebSettings,
    /// Vault keys (個人番号, TOTP secrets, portal credentials). None when no key file is configured:
    /// features that need it say so instead of failing.
    pub keyring: Option<Arc<Keyring>>,
}

impl AppState {
    pub fn new(db: Db, settings: WebSettings, keyring: Option<Arc<Keyring>>) -> Self {
        AppState(Arc::new(App {
            db,
            settings,
            keyring,
        }))
    }
}

impl Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}
