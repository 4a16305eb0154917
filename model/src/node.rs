//! What a node is given: files with their owner and mode, and the services
//! its supervisor starts.

use std::str::FromStr;

use serde::Deserialize;

/// Where a node keeps the cluster's own configuration.
pub const COROSYNC_CONF: &str = "/etc/corosync/corosync.conf";
pub const CIB_XML: &str = "/var/lib/pacemaker/cib/cib.xml";

/// A service a node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    /// Loads /etc/nftables.conf (one-shot), before the cluster starts.
    Nftables,
    Corosync,
    Pacemaker,
    Pcsd,
    /// rsyslogd: local syslog, and forwarding if the candidate configures it.
    Rsyslog,
}

impl Service {
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Nftables => "nftables",
            Service::Corosync => "corosync",
            Service::Pacemaker => "pacemaker",
            Service::Pcsd => "pcsd",
            Service::Rsyslog => "rsyslog",
        }
    }
}

/// Ownership and mode of a file placed on a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub path: String,
    pub owner: String,
    pub group: String,
    pub mode: u32,
}

/// The Debian release a node image is built from (and so its Pacemaker and corosync).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Distro {
    Bookworm,
    Trixie,
}

impl Distro {
    pub const ALL: [Distro; 2] = [Distro::Bookworm, Distro::Trixie];

    pub fn suite(self) -> &'static str {
        match self {
            Distro::Bookworm => "bookworm",
            Distro::Trixie => "trixie",
        }
    }

    /// Where its Python keeps the standard library.
    pub fn python_stdlib(self) -> &'static str {
        match self {
            Distro::Bookworm => "/usr/lib/python3.11",
            Distro::Trixie => "/usr/lib/python3.13",
        }
    }
}

impl std::fmt::Display for Distro {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.suite())
    }
}

impl FromStr for Distro {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Distro::ALL.into_iter().find(|d| d.suite() == s).ok_or_else(|| format!("unknown distro `{s}` (known: bookworm, trixie)"))
    }
}
