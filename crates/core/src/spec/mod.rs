//! Probe specs: what a pack writes under `check:`, one module per probe kind, and the one
//! registry of kinds ([`for_each_probe!`]). The registry generates the `Check` fields, the
//! [`ProbeRef`] dispatch, [`KINDS`] and [`KIND_DOCS`]; the probes crate generates its
//! `observe` dispatch from the same list. Adding a kind: a spec module here, an observe
//! module in `shipcheck-probes`, and one line in the registry.

pub mod archive;
pub mod args;
pub mod cert;
pub mod command;
pub mod config;
pub mod disk;
pub mod dns;
pub mod env;
pub mod file;
pub mod http;
pub mod postgres;
pub mod tcp;
pub mod tls;

use crate::text::Text;

/// Calls `$callback!` with the registry: one line per probe kind, `field: Variant => Type`,
/// with the doc comment that the schema and `pack show` publish.
#[macro_export]
macro_rules! for_each_probe {
    ($callback:ident) => {
        $callback! {
            /// Probe: file facts (exists, type, mode, owner, size, age, content).
            file: File => $crate::spec::file::FileProbe,
            /// Probe: a value from a structured config file, selected with a jq query.
            config: Config => $crate::spec::config::ConfigProbe,
            /// Probe: an environment variable, from the process or an env file.
            env: Env => $crate::spec::env::EnvProbe,
            /// Probe: a service's command line and environment, parsed as its own argument parser does.
            args: Args => $crate::spec::args::ArgsProbe,
            /// Probe: a command run with an argv (never a shell line), its exit code and output.
            command: Command => $crate::spec::command::CommandProbe,
            /// Probe: the entries of a tar archive (plain, gzip or zstd), e.g. the newest backup.
            archive: Archive => $crate::spec::archive::ArchiveProbe,
            /// Probe: free space on the file system holding a path.
            disk: Disk => $crate::spec::disk::DiskProbe,
            /// Probe: an HTTP request, or a built-in HTTP behaviour (HSTS, CORS, auth, rate limit...).
            http: Http => $crate::spec::http::HttpProbe,
            /// Probe: TLS protocols and ciphers accepted, and the certificate served.
            tls: Tls => $crate::spec::tls::TlsProbe,
            /// Probe: a certificate file on disk (and its key): parses, expiry, names, key match, chain to a CA.
            cert: Cert => $crate::spec::cert::CertProbe,
            /// Probe: whether a TCP port accepts connections.
            tcp: Tcp => $crate::spec::tcp::TcpProbe,
            /// Probe: name resolution.
            dns: Dns => $crate::spec::dns::DnsProbe,
            /// Probe: PostgreSQL TLS and authentication settings.
            postgres: Postgres => $crate::spec::postgres::PostgresProbe,
        }
    };
}

/// What every probe spec tells the loader.
pub trait Spec {
    /// Every templated string of the probe, so loading can check its `${...}` references.
    fn templates(&self) -> Vec<&Text>;
    /// Static problems (bad regex, bad jq, bad mode), each with the field it is about.
    fn validate(&self) -> Vec<(String, Option<&Text>)> {
        Vec::new()
    }
    /// The regexes observing compiles (the largest part of a local check's time), as
    /// written (a templated one expands at run time).
    fn patterns(&self) -> Vec<&str> {
        Vec::new()
    }
}

macro_rules! define_registry {
    ($( $(#[doc = $doc:literal])* $field:ident: $variant:ident => $ty:ty, )*) => {
        /// Names of the probe kinds, as written in a pack's `check:`.
        pub const KINDS: &[&str] = &[$(stringify!($field)),*];

        /// Each kind with its one-line description.
        pub const KIND_DOCS: &[(&str, &str)] = &[$((stringify!($field), concat!($($doc),*))),*];

        /// The one probe a check names.
        #[derive(Clone, Copy, Debug)]
        pub enum ProbeRef<'a> {
            $( $variant(&'a $ty), )*
        }

        impl<'a> ProbeRef<'a> {
            pub fn kind(&self) -> &'static str {
                match self {
                    $( ProbeRef::$variant(_) => stringify!($field), )*
                }
            }

            fn spec(&self) -> &'a dyn Spec {
                match self {
                    $( ProbeRef::$variant(p) => *p, )*
                }
            }
        }
    };
}
for_each_probe!(define_registry);

impl<'a> ProbeRef<'a> {
    /// Whether observing runs a program (the deployment's own CLI, a script).
    pub fn runs_program(&self) -> bool {
        matches!(self, ProbeRef::Command(_))
    }

    /// Whether observing waits on something outside this process (a program, the network):
    /// the engine starts these first, so their waits overlap the local checks.
    pub fn waits(&self) -> bool {
        matches!(
            self,
            ProbeRef::Command(_)
                | ProbeRef::Http(_)
                | ProbeRef::Tls(_)
                | ProbeRef::Tcp(_)
                | ProbeRef::Dns(_)
                | ProbeRef::Postgres(_)
        )
    }

    /// Every templated string of the probe.
    pub fn templates(&self) -> Vec<&Text> {
        self.spec().templates()
    }

    /// Static problems of the probe's spec.
    pub fn validate(&self) -> Vec<(String, Option<&Text>)> {
        self.spec().validate()
    }

    /// The regexes observing compiles, as written.
    pub fn patterns(&self) -> Vec<&'a str> {
        self.spec().patterns()
    }
}

/// Schema of a port: a number, or a `${var}` template that expands to one.
#[derive(schemars::JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum PortSchema {
    Number(u16),
    Template(String),
}

#[cfg(test)]
mod tests {
    /// The probe table of docs/packs.md lists exactly the registered kinds, in order.
    #[test]
    fn docs_table_lists_every_kind() {
        let doc = include_str!("../../../../docs/packs.md");
        let table = doc
            .split("## Probes")
            .nth(1)
            .expect("docs/packs.md has a Probes section");
        let kinds: Vec<&str> = table
            .lines()
            .skip_while(|l| !l.starts_with("| probe"))
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .filter_map(|l| l.split('`').nth(1))
            .collect();
        assert_eq!(kinds, super::KINDS);
    }
}
