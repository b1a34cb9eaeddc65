//! Which layout a donation CSV is read with, and which portal its donations belong to.
//!
//! Stored in `imports.profile` as a key: `choice`, `redhorse`, `redhorse:<portal>` (the portal
//! chosen in the upload form for レッドホース files without a portal column), or
//! `profile:<name>` (a saved 取込調整 mapping).

use furusato_db::imports::{self as store, CsvProfile};
use furusato_db::{Db, MunicipalityId};
use furusato_domain::Portal;
use furusato_portals::csv_import::{ColumnMapping, Profile};
use serde::{Deserialize, Serialize};

use super::ImportFailure;

/// A profile as chosen by the operator (upload form, `--profile`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProfileRef {
    /// ふるさとチョイス export: donations of [`Portal::Choice`].
    Choice,
    /// レッドホース layout: the portal comes from a portal column of each row, else `portal`.
    RedHorse { portal: Option<Portal> },
    /// A saved mapping, by name.
    Saved { name: String },
}

impl ProfileRef {
    /// The key stored with the import.
    pub fn key(&self) -> String {
        match self {
            ProfileRef::Choice => "choice".into(),
            ProfileRef::RedHorse { portal: None } => "redhorse".into(),
            ProfileRef::RedHorse { portal: Some(p) } => format!("redhorse:{}", p.as_str()),
            ProfileRef::Saved { name } => format!("profile:{name}"),
        }
    }

    /// Reads a stored key back.
    pub fn from_key(key: &str) -> Option<ProfileRef> {
        if let Some(name) = key.strip_prefix("profile:") {
            return Some(ProfileRef::Saved {
                name: name.to_string(),
            });
        }
        match key.split_once(':') {
            Some(("redhorse" | "redhouse", p)) => Portal::parse(p)
                .ok()
                .map(|p| ProfileRef::RedHorse { portal: Some(p) }),
            None if key == "choice" => Some(ProfileRef::Choice),
            None if key == "redhorse" || key == "redhouse" => {
                Some(ProfileRef::RedHorse { portal: None })
            }
            _ => None,
        }
    }

    /// From a name as typed (`--profile`, the upload form): a built-in profile name
    /// (`choice`, `redhorse`, …) or the name of a saved mapping. `portal` is used by レッドホース.
    pub fn from_name(name: &str, portal: Option<Portal>) -> ProfileRef {
        match Profile::builtin(name) {
            Some(Profile::Choice) => ProfileRef::Choice,
            Some(Profile::RedHorse) => ProfileRef::RedHorse { portal },
            _ => ProfileRef::Saved {
                name: name.trim().to_string(),
            },
        }
    }
}

/// How the portal of each row is decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PortalRule {
    /// Every row belongs to this portal.
    Fixed(Portal),
    /// From a portal column of the row (see [`super::convert::PORTAL_HEADERS`]), else the default.
    FromColumn { default: Option<Portal> },
}

/// A profile ready to parse with.
#[derive(Clone, Debug)]
pub struct ResolvedProfile {
    pub reference: ProfileRef,
    /// The parser's profile.
    pub profile: Profile,
    pub portal: PortalRule,
    /// Name for screens.
    pub label_ja: String,
}

impl ResolvedProfile {
    /// The key stored with the import (see the module doc).
    pub fn key(&self) -> String {
        self.reference.key()
    }

    /// The source name of its rows (`csv:choice`, `csv:redhorse`, `csv:<profile name>`), used for
    /// source records and donor history.
    pub fn source(&self) -> String {
        match &self.reference {
            ProfileRef::Choice => "csv:choice".into(),
            ProfileRef::RedHorse { .. } => "csv:redhorse".into(),
            ProfileRef::Saved { name } => format!("csv:{name}"),
        }
    }
}

/// A saved mapping as stored in `csv_profiles.mapping`: the [`ColumnMapping`] plus the headers of
/// the sample file it was built from (so the edit screen can offer them again). The JSON is a
/// `ColumnMapping` with one extra key, so it still reads as a plain `ColumnMapping`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMapping {
    #[serde(flatten)]
    pub mapping: ColumnMapping,
    #[serde(default)]
    pub sample_headers: Vec<String>,
}

impl StoredMapping {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub fn from_json(json: &str) -> Result<StoredMapping, serde_json::Error> {
        serde_json::from_str(json)
    }
}

/// The mapping and portal of a saved profile.
pub fn saved_profile(p: &CsvProfile) -> Result<(StoredMapping, Portal), ImportFailure> {
    let stored = StoredMapping::from_json(&p.mapping)
        .map_err(|_| ImportFailure::ProfileCorrupt(p.name.clone()))?;
    let portal = Portal::parse(&p.portal).unwrap_or(Portal::Other);
    Ok((stored, portal))
}

/// Resolves a profile reference (loads a saved mapping from the database).
pub async fn resolve(
    db: &Db,
    tenant: MunicipalityId,
    r: &ProfileRef,
) -> Result<ResolvedProfile, ImportFailure> {
    Ok(match r {
        ProfileRef::Choice => ResolvedProfile {
            reference: r.clone(),
            profile: Profile::Choice,
            portal: PortalRule::Fixed(Portal::Choice),
            label_ja: Profile::Choice.label_ja().to_string(),
        },
        ProfileRef::RedHorse { portal } => ResolvedProfile {
            reference: r.clone(),
            profile: Profile::RedHorse,
            portal: PortalRule::FromColumn { default: *portal },
            label_ja: match portal {
                Some(p) => format!("{}（{}）", Profile::RedHorse.label_ja(), p.label_ja()),
                None => Profile::RedHorse.label_ja().to_string(),
            },
        },
        ProfileRef::Saved { name } => {
            let saved = store::profile_by_name(db, tenant, name)
                .await?
                .ok_or_else(|| ImportFailure::ProfileNotFound(name.clone()))?;
            let (stored, portal) = saved_profile(&saved)?;
            let mut mapping = stored.mapping;
            mapping.name = saved.name.clone();
            ResolvedProfile {
                reference: r.clone(),
                profile: Profile::Generic(mapping),
                portal: PortalRule::Fixed(portal),
                label_ja: format!("{}（{}）", saved.name, portal.label_ja()),
            }
        }
    })
}
