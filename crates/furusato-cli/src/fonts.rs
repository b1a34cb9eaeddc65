//! Finds Japanese fonts for PDF documents: FURUSATO_FONT_DIR first, then the system font
//! directories (Debian's BIZ UD, IPAex, Noto CJK packages; macOS Hiragino).

use std::path::{Path, PathBuf};

const KNOWN: &[&str] = &[
    "BIZUDMincho",
    "BIZUDPMincho",
    "BIZUDGothic",
    "BIZUDPGothic",
    "ipaexm",
    "ipaexg",
    "ipam",
    "ipag",
    "NotoSerifCJK",
    "NotoSansCJK",
    "NotoSansJP",
    "NotoSerifJP",
    "Hiragino",
];

fn font_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![];
    if let Some(d) = std::env::var_os("FURUSATO_FONT_DIR") {
        dirs.push(PathBuf::from(d));
    }
    dirs.extend(
        [
            "/usr/share/fonts",
            "/usr/local/share/fonts",
            "/System/Library/Fonts",
            "/Library/Fonts",
        ]
        .map(PathBuf::from),
    );
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".fonts"));
        dirs.push(Path::new(&home).join(".local/share/fonts"));
    }
    dirs
}

fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in rd.flatten() {
        let p = entry.path();
        if p.is_dir() {
            if depth < 5 {
                walk(&p, depth + 1, out);
            }
        } else if let Some(name) = p.file_name().and_then(|n| n.to_str()) {
            let lower = name.to_ascii_lowercase();
            let is_font = [".ttf", ".otf", ".ttc"].iter().any(|e| lower.ends_with(e));
            if is_font
                && KNOWN
                    .iter()
                    .any(|k| name.starts_with(k) || lower.starts_with(&k.to_ascii_lowercase()))
            {
                out.push(p);
            }
        }
    }
}

/// Japanese font files found, preferred families first.
pub fn find_japanese_fonts() -> Vec<PathBuf> {
    let mut out = vec![];
    for d in font_dirs() {
        walk(&d, 0, &mut out);
    }
    out.sort_by_key(|p| {
        let n = p
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        (
            KNOWN
                .iter()
                .position(|k| n.starts_with(k))
                .unwrap_or(KNOWN.len()),
            n,
        )
    });
    out.dedup();
    out
}
