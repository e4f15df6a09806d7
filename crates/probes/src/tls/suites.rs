//! The cipher suites and key-exchange groups a scan offers, with how each is judged: the
//! TLS ≤ 1.2 suites (IANA ids, OpenSSL names), the TLS 1.3 suites, and the named groups.

/// How a cipher suite is judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    /// In Mozilla's "intermediate" set: (EC)DHE key exchange with an AEAD cipher.
    Good,
    /// Outside "intermediate" but not broken: CBC or non-AEAD, static RSA key exchange.
    Weak,
    /// Broken: NULL, anonymous, EXPORT, RC4, DES or 3DES.
    Insecure,
}

/// A TLS ≤ 1.2 cipher suite: IANA id, OpenSSL-style name, class.
#[derive(Clone, Copy, Debug)]
pub struct Suite {
    pub id: u16,
    pub name: &'static str,
    pub class: Class,
}

macro_rules! suites {
    ($($id:literal $name:literal $class:ident),* $(,)?) => {
        /// Suites the scanner knows and offers.
        pub const SUITES: &[Suite] = &[$(Suite { id: $id, name: $name, class: Class::$class }),*];
    };
}

suites! {
    0xC02B "ECDHE-ECDSA-AES128-GCM-SHA256" Good,
    0xC02C "ECDHE-ECDSA-AES256-GCM-SHA384" Good,
    0xC02F "ECDHE-RSA-AES128-GCM-SHA256" Good,
    0xC030 "ECDHE-RSA-AES256-GCM-SHA384" Good,
    0xCCA8 "ECDHE-RSA-CHACHA20-POLY1305" Good,
    0xCCA9 "ECDHE-ECDSA-CHACHA20-POLY1305" Good,
    0xCCAA "DHE-RSA-CHACHA20-POLY1305" Good,
    0x009E "DHE-RSA-AES128-GCM-SHA256" Good,
    0x009F "DHE-RSA-AES256-GCM-SHA384" Good,
    0xC009 "ECDHE-ECDSA-AES128-SHA" Weak,
    0xC00A "ECDHE-ECDSA-AES256-SHA" Weak,
    0xC013 "ECDHE-RSA-AES128-SHA" Weak,
    0xC014 "ECDHE-RSA-AES256-SHA" Weak,
    0xC023 "ECDHE-ECDSA-AES128-SHA256" Weak,
    0xC024 "ECDHE-ECDSA-AES256-SHA384" Weak,
    0xC027 "ECDHE-RSA-AES128-SHA256" Weak,
    0xC028 "ECDHE-RSA-AES256-SHA384" Weak,
    0x0033 "DHE-RSA-AES128-SHA" Weak,
    0x0039 "DHE-RSA-AES256-SHA" Weak,
    0x0067 "DHE-RSA-AES128-SHA256" Weak,
    0x006B "DHE-RSA-AES256-SHA256" Weak,
    0x009C "AES128-GCM-SHA256" Weak,
    0x009D "AES256-GCM-SHA384" Weak,
    0x002F "AES128-SHA" Weak,
    0x0035 "AES256-SHA" Weak,
    0x003C "AES128-SHA256" Weak,
    0x003D "AES256-SHA256" Weak,
    0x0041 "CAMELLIA128-SHA" Weak,
    0x0084 "CAMELLIA256-SHA" Weak,
    0x0096 "SEED-SHA" Weak,
    0x00BA "CAMELLIA128-SHA256" Weak,
    0x00C0 "CAMELLIA256-SHA256" Weak,
    0x0045 "DHE-RSA-CAMELLIA128-SHA" Weak,
    0x0088 "DHE-RSA-CAMELLIA256-SHA" Weak,
    0x00BE "DHE-RSA-CAMELLIA128-SHA256" Weak,
    0x00C4 "DHE-RSA-CAMELLIA256-SHA256" Weak,
    0xC076 "ECDHE-RSA-CAMELLIA128-SHA256" Weak,
    0xC077 "ECDHE-RSA-CAMELLIA256-SHA384" Weak,
    0xC072 "ECDHE-ECDSA-CAMELLIA128-SHA256" Weak,
    0xC073 "ECDHE-ECDSA-CAMELLIA256-SHA384" Weak,
    0x009A "DHE-RSA-SEED-SHA" Weak,
    0xC09C "AES128-CCM" Weak,
    0xC09D "AES256-CCM" Weak,
    0xC0A0 "AES128-CCM8" Weak,
    0xC0A1 "AES256-CCM8" Weak,
    0xC09E "DHE-RSA-AES128-CCM" Weak,
    0xC09F "DHE-RSA-AES256-CCM" Weak,
    0xC0A2 "DHE-RSA-AES128-CCM8" Weak,
    0xC0A3 "DHE-RSA-AES256-CCM8" Weak,
    0xC0AC "ECDHE-ECDSA-AES128-CCM" Weak,
    0xC0AD "ECDHE-ECDSA-AES256-CCM" Weak,
    0xC0AE "ECDHE-ECDSA-AES128-CCM8" Weak,
    0xC0AF "ECDHE-ECDSA-AES256-CCM8" Weak,
    0xC050 "ARIA128-GCM-SHA256" Weak,
    0xC051 "ARIA256-GCM-SHA384" Weak,
    0xC052 "DHE-RSA-ARIA128-GCM-SHA256" Weak,
    0xC053 "DHE-RSA-ARIA256-GCM-SHA384" Weak,
    0xC060 "ECDHE-ARIA128-GCM-SHA256" Weak,
    0xC061 "ECDHE-ARIA256-GCM-SHA384" Weak,
    0xC05C "ECDHE-ECDSA-ARIA128-GCM-SHA256" Weak,
    0xC05D "ECDHE-ECDSA-ARIA256-GCM-SHA384" Weak,
    0x0032 "DHE-DSS-AES128-SHA" Weak,
    0x0038 "DHE-DSS-AES256-SHA" Weak,
    0x0013 "EDH-DSS-DES-CBC3-SHA" Insecure,
    0x000A "DES-CBC3-SHA" Insecure,
    0x0016 "EDH-RSA-DES-CBC3-SHA" Insecure,
    0xC008 "ECDHE-ECDSA-DES-CBC3-SHA" Insecure,
    0xC012 "ECDHE-RSA-DES-CBC3-SHA" Insecure,
    0x0009 "DES-CBC-SHA" Insecure,
    0x0015 "EDH-RSA-DES-CBC-SHA" Insecure,
    0x0004 "RC4-MD5" Insecure,
    0x0005 "RC4-SHA" Insecure,
    0xC007 "ECDHE-ECDSA-RC4-SHA" Insecure,
    0xC011 "ECDHE-RSA-RC4-SHA" Insecure,
    0x0003 "EXP-RC4-MD5" Insecure,
    0x0006 "EXP-RC2-CBC-MD5" Insecure,
    0x0008 "EXP-DES-CBC-SHA" Insecure,
    0x0014 "EXP-EDH-RSA-DES-CBC-SHA" Insecure,
    0x0001 "NULL-MD5" Insecure,
    0x0002 "NULL-SHA" Insecure,
    0x003B "NULL-SHA256" Insecure,
    0xC006 "ECDHE-ECDSA-NULL-SHA" Insecure,
    0xC010 "ECDHE-RSA-NULL-SHA" Insecure,
    0x0018 "ADH-RC4-MD5" Insecure,
    0x001B "ADH-DES-CBC3-SHA" Insecure,
    0x0034 "ADH-AES128-SHA" Insecure,
    0x003A "ADH-AES256-SHA" Insecure,
    0x006C "ADH-AES128-SHA256" Insecure,
    0x006D "ADH-AES256-SHA256" Insecure,
    0x00A6 "ADH-AES128-GCM-SHA256" Insecure,
    0xC018 "AECDH-AES128-SHA" Insecure,
    0xC019 "AECDH-AES256-SHA" Insecure,
    0xC015 "AECDH-NULL-SHA" Insecure,
    0xC016 "AECDH-RC4-SHA" Insecure,
    0xC017 "AECDH-DES-CBC3-SHA" Insecure,
}

/// Looks a suite up by id.
pub fn suite(id: u16) -> Option<&'static Suite> {
    SUITES.iter().find(|s| s.id == id)
}

/// A TLS 1.3 cipher suite (RFC 8446 B.4).
#[derive(Clone, Copy, Debug)]
pub struct Suite13 {
    pub id: u16,
    pub name: &'static str,
    /// In Mozilla's "intermediate" TLS 1.3 list (AES-GCM, ChaCha20).
    pub recommended: bool,
}

/// Every TLS 1.3 suite IANA registers.
pub const SUITES13: &[Suite13] = &[
    Suite13 {
        id: 0x1301,
        name: "TLS_AES_128_GCM_SHA256",
        recommended: true,
    },
    Suite13 {
        id: 0x1302,
        name: "TLS_AES_256_GCM_SHA384",
        recommended: true,
    },
    Suite13 {
        id: 0x1303,
        name: "TLS_CHACHA20_POLY1305_SHA256",
        recommended: true,
    },
    Suite13 {
        id: 0x1304,
        name: "TLS_AES_128_CCM_SHA256",
        recommended: false,
    },
    Suite13 {
        id: 0x1305,
        name: "TLS_AES_128_CCM_8_SHA256",
        recommended: false,
    },
];

/// A named group (elliptic curve or finite-field group) for key exchange.
#[derive(Clone, Copy, Debug)]
pub struct Group {
    pub id: u16,
    pub name: &'static str,
    /// Below 128-bit security (curves under 256 bits, binary curves): outside Mozilla's
    /// lists and refused by current browsers.
    pub weak: bool,
}

macro_rules! groups {
    ($($id:literal $name:literal $weak:literal),* $(,)?) => {
        /// Groups a scan asks about (IANA "TLS Supported Groups").
        pub const GROUPS: &[Group] = &[$(Group { id: $id, name: $name, weak: $weak }),*];
    };
}

groups! {
    0x001D "x25519" false,
    0x0017 "secp256r1" false,
    0x0018 "secp384r1" false,
    0x0019 "secp521r1" false,
    0x001E "x448" false,
    0x0100 "ffdhe2048" false,
    0x0101 "ffdhe3072" false,
    0x0102 "ffdhe4096" false,
    0x0103 "ffdhe6144" false,
    0x0104 "ffdhe8192" false,
    0x001A "brainpoolP256r1" false,
    0x001B "brainpoolP384r1" false,
    0x001C "brainpoolP512r1" false,
    0x11EC "X25519MLKEM768" false,
    0x0015 "secp224r1" true,
    0x0016 "secp256k1" false,
    0x0013 "secp192r1" true,
    0x0014 "secp224k1" true,
    0x0012 "secp192k1" true,
    0x000F "secp160k1" true,
    0x0010 "secp160r1" true,
    0x0011 "secp160r2" true,
    0x0001 "sect163k1" true,
    0x0002 "sect163r1" true,
    0x0003 "sect163r2" true,
    0x0004 "sect193r1" true,
    0x0005 "sect193r2" true,
    0x0006 "sect233k1" true,
    0x0007 "sect233r1" true,
    0x0008 "sect239k1" true,
    0x0009 "sect283k1" true,
    0x000A "sect283r1" true,
    0x000B "sect409k1" true,
    0x000C "sect409r1" true,
    0x000D "sect571k1" true,
    0x000E "sect571r1" true,
}

/// Looks a group up by id.
pub fn group(id: u16) -> Option<&'static Group> {
    GROUPS.iter().find(|g| g.id == id)
}

/// Looks a TLS 1.3 suite up by id.
pub fn suite13(id: u16) -> Option<&'static Suite13> {
    SUITES13.iter().find(|s| s.id == id)
}

/// A suite's name, or its id in hex when the table lacks it.
pub fn suite_name(id: u16) -> String {
    suite(id)
        .map(|s| s.name.to_string())
        .or_else(|| suite13(id).map(|s| s.name.to_string()))
        .unwrap_or_else(|| format!("0x{id:04X}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_is_listed_once() {
        let mut ids: Vec<u16> = SUITES.iter().map(|s| s.id).collect();
        ids.extend(SUITES13.iter().map(|s| s.id));
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n);
        let mut g: Vec<u16> = GROUPS.iter().map(|g| g.id).collect();
        g.sort();
        g.dedup();
        assert_eq!(g.len(), GROUPS.len());
    }
}
