//! Command-line syntax (clap).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "furusato",
    version,
    about = "Open-source back office for ふるさと納税 (hometown-tax donation) operations"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Database URL: sqlite://path/to/file.db or postgres://user@host/db
    /// [default: a SQLite file in the data directory]
    #[arg(long, global = true, env = "FURUSATO_DATABASE_URL")]
    pub database: Option<String>,
    /// Directory for the default SQLite database, key file and configuration.
    #[arg(long, global = true, env = "FURUSATO_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Vault key file (個人番号, TOTP secrets, portal credentials) [default: DATA_DIR/vault-keys.json].
    /// FURUSATO_VAULT_KEYS may carry the keys' JSON itself instead.
    #[arg(long, global = true, env = "FURUSATO_KEYS_FILE")]
    pub keys_file: Option<PathBuf>,
    /// Configuration file [default: DATA_DIR/furusato.toml when it exists].
    #[arg(long, global = true, env = "FURUSATO_CONFIG")]
    pub config: Option<PathBuf>,
    /// More log output (-v: debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the web server.
    Serve(ServeArgs),
    /// Apply database migrations.
    Migrate,
    /// Create a demo city (仙台市) with synthetic data and serve it.
    Demo(DemoArgs),
    /// Check the installation: database, migrations, reference data, fonts, keys.
    Doctor,
    /// Reference data (postal codes, local-government codes).
    #[command(subcommand)]
    Data(DataCommand),
    /// Municipalities (tenants).
    #[command(subcommand)]
    Municipality(MunicipalityCommand),
    /// User accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Vault keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// The audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Portal synchronisation (楽天 RMS).
    #[command(subcommand)]
    Sync(crate::cmd_sync::SyncCommand),
    /// Import files (portal donation CSVs, payment records).
    #[command(subcommand)]
    Import(crate::cmd_import::ImportCommand),
    /// Export donation or donor lists as CSV (to stdout).
    #[command(subcommand)]
    Export(crate::cmd_export::ExportCommand),
    /// Developer tools (the RMS-shaped mock server).
    #[command(subcommand)]
    Dev(crate::cmd_sync::DevCommand),
    /// Benchmarks over generated data at real scale.
    #[command(subcommand)]
    Bench(crate::cmd_bench::BenchCommand),
    /// Erase data past its retention period and write a データ消去報告書.
    Erase(crate::cmd_erase::EraseArgs),
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "FURUSATO_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
}

#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// Number of donations to generate (donors: 5/8 of it).
    #[arg(long, default_value_t = 8_000)]
    pub size: usize,
    /// Random seed of the synthetic data.
    #[arg(long, default_value_t = 20_261_126)]
    pub seed: u64,
    /// Delete the existing demo municipality's data and generate it again.
    #[arg(long)]
    pub reset: bool,
    /// Generate the data, print the logins, and exit without serving.
    #[arg(long)]
    pub no_serve: bool,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Subcommand, Debug)]
pub enum DataCommand {
    /// Load Japan Post postal codes (utf_ken_all.csv UTF-8, or KEN_ALL.CSV Shift_JIS).
    ImportPostal { file: PathBuf },
    /// Load 総務省 local-government codes (the official .xlsx, or a CSV export).
    ImportLocalgov { file: PathBuf },
    /// Show what reference data is loaded.
    Status,
}

#[derive(Subcommand, Debug)]
pub enum MunicipalityCommand {
    /// Register a municipality.
    Add(Box<MunicipalityAdd>),
    /// List municipalities.
    List,
}

#[derive(Args, Debug)]
pub struct MunicipalityAdd {
    /// 地方公共団体コード (6 digits with check digit, or 5 digits).
    #[arg(long)]
    pub code: String,
    /// Name, e.g. 仙台市
    #[arg(long)]
    pub name: String,
    #[arg(long, default_value = "")]
    pub name_kana: String,
    /// Mayor's title as printed on documents [default: NAME + 長, e.g. 仙台市長]
    #[arg(long)]
    pub mayor_title: Option<String>,
    /// Mayor's name as printed on documents.
    #[arg(long)]
    pub mayor_name: String,
    #[arg(long, default_value = "")]
    pub postal_code: String,
    #[arg(long, default_value = "")]
    pub address: String,
    /// Department in charge (担当課).
    #[arg(long, default_value = "")]
    pub department: String,
    #[arg(long, default_value = "")]
    pub phone: String,
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user. The password is read from stdin (--password-stdin) or generated and printed once.
    Add(UserAdd),
    /// Set a new generated password (printed once); the user must change it at next login.
    ResetPassword {
        #[arg(long)]
        municipality: String,
        #[arg(long)]
        login: String,
    },
    /// Unlock an account locked by failed logins.
    Unlock {
        #[arg(long)]
        municipality: String,
        #[arg(long)]
        login: String,
    },
    /// List the users of a municipality.
    List {
        #[arg(long)]
        municipality: String,
    },
}

#[derive(Args, Debug)]
pub struct UserAdd {
    /// Municipality code (e.g. 041009).
    #[arg(long)]
    pub municipality: String,
    #[arg(long)]
    pub login: String,
    /// Display name.
    #[arg(long)]
    pub name: String,
    /// city | city_admin | operator | operator_admin | partner | auditor
    #[arg(long)]
    pub role: String,
    /// Partner code (for role partner).
    #[arg(long)]
    pub partner: Option<String>,
    /// Grant: designated 特定個人情報 handler (may reveal 個人番号).
    #[arg(long)]
    pub my_number_handler: bool,
    /// Read the password from standard input instead of generating one.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Create a new key file with fresh random keys.
    Init,
    /// Add a new data key, make it active and re-encrypt every vault entry with it (resumable).
    Rotate,
    /// Show key ids and how many entries each key protects.
    Status,
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Check the hash chain of the audit trail; exits with 1 at the first broken link.
    Verify,
}
