//! The device profiles as data: one `const` [`Profile`] per TLS stack, every fact with the version
//! it describes and where it comes from. docs/doctor.md's "Device profiles" tables are these.

use tlspost::probe::Version;
use tlspost::probe::hello::{MaxFragmentLength, group, scheme, suite};

use super::{DeviceFixes, KeyType, Profile, Resumption, SigAlg, Source, Sourced};

/// Cipher suite code points the probe module does not name (IANA "TLS Cipher Suites").
mod more {
    pub const TLS13_AES_128_CCM_SHA256: u16 = 0x1304;
    pub const ECDHE_ECDSA_AES_256_CCM: u16 = 0xc0ad;
    pub const ECDHE_ECDSA_AES_128_CCM: u16 = 0xc0ac;
    pub const ECDHE_ECDSA_AES_256_CBC_SHA384: u16 = 0xc024;
    pub const ECDHE_RSA_AES_256_CBC_SHA384: u16 = 0xc028;
    pub const ECDHE_ECDSA_AES_128_CBC_SHA256: u16 = 0xc023;
    pub const ECDHE_RSA_AES_128_CBC_SHA256: u16 = 0xc027;
    pub const ECDHE_ECDSA_AES_256_CBC_SHA: u16 = 0xc00a;
    pub const ECDHE_RSA_AES_256_CBC_SHA: u16 = 0xc014;
    pub const RSA_AES_256_GCM_SHA384: u16 = 0x009d;
    pub const RSA_AES_256_CBC_SHA256: u16 = 0x003d;
    pub const RSA_AES_128_CBC_SHA256: u16 = 0x003c;
    pub const RSA_AES_256_CBC_SHA: u16 = 0x0035;
    /// brainpoolP256r1, brainpoolP384r1, brainpoolP512r1 (RFC 7027).
    pub const BP256R1: u16 = 0x001a;
    pub const BP384R1: u16 = 0x001b;
    pub const BP512R1: u16 = 0x001c;
    /// ecdsa_secp521r1_sha512, rsa_pss_rsae_sha512, rsa_pkcs1_sha512 (RFC 8446 §4.2.3).
    pub const ECDSA_P521_SHA512: u16 = 0x0603;
    pub const RSA_PSS_SHA512: u16 = 0x0806;
    pub const RSA_PKCS1_SHA512: u16 = 0x0601;
}

const fn src(url: &'static str) -> Source {
    Source::Url(url)
}

const fn at<T>(value: T, source: Source) -> Sourced<T> {
    Sourced { value, source }
}

const EMBEDDED_TLS_CONFIG: &str = "https://docs.rs/crate/embedded-tls/0.19.0/source/src/config.rs";
const EMBEDDED_TLS_HELLO: &str = "https://docs.rs/crate/embedded-tls/0.19.0/source/src/handshake/client_hello.rs";
const TLSPOST_DEVICE: &str = "crates/tlspost-device/src/algs.rs and verifier.rs (this repository)";
const TLSPOST_DEVICE_CONNECT: &str = "crates/tlspost-device/src/connect.rs (this repository)";

/// embedded-tls 0.19 with tlspost-device's pinned-root verifier, as the firmwares build it.
pub const TLSPOST: Profile = Profile {
    name: "tlspost",
    stack: "embedded-tls 0.19 + tlspost-device (PinnedVerifier)",
    describes: "embedded-tls 0.19.0, tlspost-device 0.1 (this repository)",
    versions: at(&[Version::Tls13], src(EMBEDDED_TLS_HELLO)),
    tls13_suites: at(
        &[suite::TLS13_AES_128_GCM_SHA256, suite::TLS13_AES_256_GCM_SHA384],
        Source::Note(
            "one suite per build, the connection's type parameter (firmwares: TLS_AES_128_GCM_SHA256); \
             https://docs.rs/crate/embedded-tls/0.19.0/source/src/handshake/client_hello.rs",
        ),
    ),
    tls12_suites: at(&[], src(EMBEDDED_TLS_HELLO)),
    groups: at(&[group::SECP256R1], src(EMBEDDED_TLS_CONFIG)),
    key_shares: at(&[group::SECP256R1], src(EMBEDDED_TLS_HELLO)),
    answers_hello_retry: at(
        false,
        Source::Note("embedded-tls 0.19 has no HelloRetryRequest path (tlspost::probe::device reports it)"),
    ),
    signature_schemes: at(
        &[
            scheme::ECDSA_P256_SHA256,
            scheme::ECDSA_P384_SHA384,
            scheme::ED25519,
            scheme::RSA_PKCS1_SHA256,
            scheme::RSA_PKCS1_SHA384,
            more::RSA_PKCS1_SHA512,
            scheme::RSA_PSS_SHA256,
            scheme::RSA_PSS_SHA384,
            more::RSA_PSS_SHA512,
        ],
        Source::Note(
            "offered: embedded-tls' defaults plus RSA (tlspost_device::config calls enable_rsa_signatures so that \
             an RSA server is refused by the verifier, not by an anonymous alert); crates/tlspost-device/src/connect.rs",
        ),
    ),
    keys: at(&[KeyType::EcdsaP256, KeyType::EcdsaP384], src(TLSPOST_DEVICE)),
    cert_signatures: at(&[SigAlg::EcdsaSha256, SigAlg::EcdsaSha384], src(TLSPOST_DEVICE)),
    read_buffer: at(
        16_384,
        Source::Note("the firmwares' 16,640-byte read buffer: 2^14 bytes of plaintext plus 256; docs/device.md"),
    ),
    max_fragment_length: at(None, src(EMBEDDED_TLS_CONFIG)),
    smaller_buffer: at(
        Some(MaxFragmentLength::B4096),
        Source::Note(
            "TlsConfig::with_max_fragment_length with a 4,096 + 256-byte read buffer; \
             https://docs.rs/crate/embedded-tls/0.19.0/source/src/config.rs",
        ),
    ),
    joins_records: at(
        false,
        Source::Note(
            "embedded-tls 0.19 parses each record on its own: a handshake message that continues into the next \
             record fails (tlspost::probe::device, MessageSpansRecords)",
        ),
    ),
    resumption: at(Resumption::None, src(TLSPOST_DEVICE_CONNECT)),
    sni: at(true, src(TLSPOST_DEVICE_CONNECT)),
    alpn: at(false, src(TLSPOST_DEVICE_CONNECT)),
    fixes: DeviceFixes {
        version: "embedded-tls speaks TLS 1.3 only: use a device TLS backend that also speaks TLS 1.2 (mbedTLS, BearSSL)",
        key: "the device's verifier takes ECDSA P-256/P-384 keys and ECDSA signatures only: a backend with RSA \
              verification (mbedTLS) accepts this chain",
        buffer: "a read buffer of 16,640 bytes holds any record, but embedded-tls cannot join a handshake message \
                 across records at any buffer size: only a smaller chain on the server helps",
        negotiation: "embedded-tls offers one group (secp256r1) and one suite: build the device with the suite the \
                      server takes, or use another backend",
    },
    device_code: true,
};

const IDF_KCONFIG: &str = "https://github.com/espressif/esp-idf/blob/v5.5.5/components/mbedtls/Kconfig";
const IDF_ESP_TLS: &str = "https://github.com/espressif/esp-idf/blob/v5.5.5/components/esp-tls/esp_tls_mbedtls.c";
const MBEDTLS_TLS_C: &str = "https://github.com/Mbed-TLS/mbedtls/blob/v3.6.6/library/ssl_tls.c";
const MBEDTLS_SUITES: &str = "https://github.com/Mbed-TLS/mbedtls/blob/v3.6.6/library/ssl_ciphersuites.c";
/// mbedTLS joins a handshake message across records since 3.6.3 (the judge warns when a
/// Certificate message spans records: an older mbedTLS cannot read it).
pub(crate) const MBEDTLS_JOIN: &str = "Mbed TLS 3.6.3 ChangeLog (re-assembly of fragmented handshake messages, in the input \
                            buffer: library/ssl_msg.c); https://github.com/Mbed-TLS/mbedtls/blob/v3.6.6/ChangeLog";

/// TLS 1.2 suites of mbedTLS' default preference list that ESP-IDF's default configuration
/// builds (AES in GCM, CCM and CBC; ChaCha20-Poly1305 is off: CONFIG_MBEDTLS_CHACHAPOLY_C=n).
const MBEDTLS_TLS12_SUITES: &[u16] = &[
    suite::ECDHE_ECDSA_AES_256_GCM_SHA384,
    suite::ECDHE_RSA_AES_256_GCM_SHA384,
    more::ECDHE_ECDSA_AES_256_CCM,
    more::ECDHE_ECDSA_AES_256_CBC_SHA384,
    more::ECDHE_RSA_AES_256_CBC_SHA384,
    more::ECDHE_ECDSA_AES_256_CBC_SHA,
    more::ECDHE_RSA_AES_256_CBC_SHA,
    suite::ECDHE_ECDSA_AES_128_GCM_SHA256,
    suite::ECDHE_RSA_AES_128_GCM_SHA256,
    more::ECDHE_ECDSA_AES_128_CCM,
    more::ECDHE_ECDSA_AES_128_CBC_SHA256,
    more::ECDHE_RSA_AES_128_CBC_SHA256,
    suite::ECDHE_ECDSA_AES_128_CBC_SHA,
    suite::ECDHE_RSA_AES_128_CBC_SHA,
    more::RSA_AES_256_GCM_SHA384,
    more::RSA_AES_256_CBC_SHA256,
    more::RSA_AES_256_CBC_SHA,
    suite::RSA_AES_128_GCM_SHA256,
    more::RSA_AES_128_CBC_SHA256,
    suite::RSA_AES_128_CBC_SHA,
];

/// mbedTLS' default groups (X25519 first), as ESP-IDF builds its curves.
const MBEDTLS_GROUPS: &[u16] = &[
    group::X25519,
    group::SECP256R1,
    group::SECP384R1,
    group::SECP521R1,
    more::BP256R1,
    more::BP384R1,
    more::BP512R1,
];

const MBEDTLS_SCHEMES: &[u16] = &[
    more::ECDSA_P521_SHA512,
    more::RSA_PSS_SHA512,
    more::RSA_PKCS1_SHA512,
    scheme::ECDSA_P384_SHA384,
    scheme::RSA_PSS_SHA384,
    scheme::RSA_PKCS1_SHA384,
    scheme::ECDSA_P256_SHA256,
    scheme::RSA_PSS_SHA256,
    scheme::RSA_PKCS1_SHA256,
];

const MBEDTLS_KEYS: &[KeyType] = &[KeyType::Rsa, KeyType::EcdsaP256, KeyType::EcdsaP384, KeyType::EcdsaP521];

const MBEDTLS_CERT_SIGNATURES: &[SigAlg] = &[
    SigAlg::RsaPkcs1,
    SigAlg::RsaPss,
    SigAlg::EcdsaSha256,
    SigAlg::EcdsaSha384,
    SigAlg::EcdsaSha512,
];

/// esp_http_client over esp-tls and mbedTLS, ESP-IDF's default menuconfig.
pub const ESP_IDF: Profile = Profile {
    name: "esp-idf",
    stack: "esp_http_client + esp-tls + mbedTLS 3.6",
    describes: "ESP-IDF v5.5.5 (mbedTLS 3.6.6), default sdkconfig",
    versions: at(
        &[Version::Tls12],
        Source::Note(
            "CONFIG_MBEDTLS_SSL_PROTO_TLS1_2 default y, CONFIG_MBEDTLS_SSL_PROTO_TLS1_3 default n; \
             https://github.com/espressif/esp-idf/blob/v5.5.5/components/mbedtls/Kconfig",
        ),
    ),
    tls13_suites: at(
        &[
            suite::TLS13_AES_256_GCM_SHA384,
            suite::TLS13_AES_128_GCM_SHA256,
            more::TLS13_AES_128_CCM_SHA256,
        ],
        Source::Note(
            "only once TLS 1.3 is enabled; mbedTLS' preference list without ChaCha20; \
             https://github.com/Mbed-TLS/mbedtls/blob/v3.6.6/library/ssl_ciphersuites.c",
        ),
    ),
    tls12_suites: at(MBEDTLS_TLS12_SUITES, src(MBEDTLS_SUITES)),
    groups: at(MBEDTLS_GROUPS, src(MBEDTLS_TLS_C)),
    key_shares: at(
        &[group::X25519],
        Source::Note(
            "mbedTLS sends one key share, its first group (TLS 1.3 only); https://github.com/Mbed-TLS/mbedtls/blob/v3.6.6/library/ssl_tls13_client.c",
        ),
    ),
    answers_hello_retry: at(
        true,
        src("https://github.com/Mbed-TLS/mbedtls/blob/v3.6.6/library/ssl_tls13_client.c"),
    ),
    signature_schemes: at(MBEDTLS_SCHEMES, src(MBEDTLS_TLS_C)),
    keys: at(MBEDTLS_KEYS, src(IDF_KCONFIG)),
    cert_signatures: at(MBEDTLS_CERT_SIGNATURES, src(IDF_KCONFIG)),
    read_buffer: at(
        16_384,
        Source::Note(
            "CONFIG_MBEDTLS_SSL_IN_CONTENT_LEN default 16384 (CONFIG_MBEDTLS_SSL_OUT_CONTENT_LEN 4096); \
             https://github.com/espressif/esp-idf/blob/v5.5.5/components/mbedtls/Kconfig",
        ),
    ),
    max_fragment_length: at(
        None,
        Source::Note(
            "compiled in (MBEDTLS_SSL_MAX_FRAGMENT_LENGTH) but esp-tls never calls mbedtls_ssl_conf_max_frag_len; \
             https://github.com/espressif/esp-idf/blob/v5.5.5/components/esp-tls/esp_tls_mbedtls.c",
        ),
    ),
    smaller_buffer: at(
        None,
        Source::Note(
            "CONFIG_MBEDTLS_SSL_IN_CONTENT_LEN may be lowered (512 to 16384), but esp-tls asks no \
             max_fragment_length: a smaller buffer then holds only what the server happens to send; \
             https://github.com/espressif/esp-idf/blob/v5.5.5/components/mbedtls/Kconfig",
        ),
    ),
    joins_records: at(true, Source::Note(MBEDTLS_JOIN)),
    resumption: at(
        Resumption::None,
        Source::Note(
            "CONFIG_ESP_TLS_CLIENT_SESSION_TICKETS is off by default: each connection is a full handshake; \
             https://github.com/espressif/esp-idf/blob/v5.5.5/components/esp-tls/Kconfig",
        ),
    ),
    sni: at(true, src(IDF_ESP_TLS)),
    alpn: at(false, src(IDF_ESP_TLS)),
    fixes: DeviceFixes {
        version: "enable TLS 1.3 in menuconfig (CONFIG_MBEDTLS_SSL_PROTO_TLS1_3=y), or keep TLS 1.2 and have the \
                  server offer it",
        key: "enable the key type or curve in menuconfig (Component config > mbedTLS)",
        buffer: "raise CONFIG_MBEDTLS_SSL_IN_CONTENT_LEN (at most 16384; a Certificate message over it cannot be \
                 read at any setting)",
        negotiation: "enable the server's suite or group in menuconfig (Component config > mbedTLS)",
    },
    device_code: false,
};

const ARDUINO_SSL_CLIENT: &str =
    "https://github.com/espressif/arduino-esp32/blob/master/libraries/NetworkClientSecure/src/ssl_client.cpp";
const ARDUINO_DEFCONFIG: &str =
    "https://github.com/espressif/esp32-arduino-lib-builder/blob/master/configs/defconfig.common";

/// WiFiClientSecure (NetworkClientSecure) of arduino-esp32 3.x: ESP-IDF's mbedTLS, prebuilt
/// with the Arduino library builder's sdkconfig.
pub const ARDUINO_ESP32: Profile = Profile {
    name: "arduino-esp32",
    stack: "WiFiClientSecure (NetworkClientSecure) + mbedTLS 3.6",
    describes: "arduino-esp32 3.3 (ESP-IDF release/v5.5 libraries built by esp32-arduino-lib-builder)",
    versions: at(
        &[Version::Tls12],
        Source::Note(
            "the lib builder's defconfig leaves CONFIG_MBEDTLS_SSL_PROTO_TLS1_3 at ESP-IDF's default n; \
             https://github.com/espressif/esp32-arduino-lib-builder/blob/master/configs/defconfig.common",
        ),
    ),
    smaller_buffer: at(None, src(ARDUINO_DEFCONFIG)),
    tls13_suites: ESP_IDF.tls13_suites,
    tls12_suites: ESP_IDF.tls12_suites,
    groups: ESP_IDF.groups,
    key_shares: ESP_IDF.key_shares,
    answers_hello_retry: ESP_IDF.answers_hello_retry,
    signature_schemes: ESP_IDF.signature_schemes,
    keys: ESP_IDF.keys,
    cert_signatures: ESP_IDF.cert_signatures,
    read_buffer: at(
        16_384,
        Source::Note(
            "CONFIG_MBEDTLS_ASYMMETRIC_CONTENT_LEN is not set: 16,384 bytes each way, allocated while used \
             (CONFIG_MBEDTLS_DYNAMIC_BUFFER=y); \
             https://github.com/espressif/esp32-arduino-lib-builder/blob/master/configs/defconfig.common",
        ),
    ),
    max_fragment_length: at(None, src(ARDUINO_SSL_CLIENT)),
    joins_records: ESP_IDF.joins_records,
    resumption: at(
        Resumption::None,
        Source::Note(
            "ssl_client.cpp keeps no session between connections; \
             https://github.com/espressif/arduino-esp32/blob/master/libraries/NetworkClientSecure/src/ssl_client.cpp",
        ),
    ),
    sni: at(
        true,
        Source::Note(
            "the host name given to connect() (an IP address as text when connecting by IP); https://github.com/espressif/arduino-esp32/blob/master/libraries/NetworkClientSecure/src/ssl_client.cpp",
        ),
    ),
    alpn: at(
        false,
        Source::Note(
            "only when setAlpnProtocols() was called; https://github.com/espressif/arduino-esp32/blob/master/libraries/NetworkClientSecure/src/ssl_client.cpp",
        ),
    ),
    fixes: DeviceFixes {
        version: "the prebuilt libraries have TLS 1.3 off: have the server offer TLS 1.2, or build them with \
                  CONFIG_MBEDTLS_SSL_PROTO_TLS1_3=y (esp32-arduino-lib-builder)",
        key: "the prebuilt mbedTLS takes RSA and ECDSA P-256/P-384/P-521: another key needs a rebuilt library",
        buffer: "the prebuilt buffer is 16,384 bytes, the most TLS allows: only a smaller chain on the server helps",
        negotiation: "the prebuilt suites and groups are fixed: change the server's",
    },
    device_code: false,
};

const BEARSSL_CLIENT: &str =
    "https://github.com/esp8266/Arduino/blob/3.1.2/libraries/ESP8266WiFi/src/WiFiClientSecureBearSSL.cpp";

/// BearSSL::WiFiClientSecure of the ESP8266 Arduino core.
pub const ESP8266: Profile = Profile {
    name: "esp8266",
    stack: "BearSSL::WiFiClientSecure (ESP8266 Arduino core)",
    describes: "ESP8266 Arduino core 3.1.2 (BearSSL)",
    versions: at(
        &[Version::Tls12, Version::Tls11, Version::Tls10],
        Source::Note(
            "_tls_min = BR_TLS10, _tls_max = BR_TLS12 (no TLS 1.3); https://github.com/esp8266/Arduino/blob/3.1.2/libraries/ESP8266WiFi/src/WiFiClientSecureBearSSL.cpp",
        ),
    ),
    tls13_suites: at(&[], src(BEARSSL_CLIENT)),
    tls12_suites: at(
        &[
            suite::ECDHE_ECDSA_CHACHA20_POLY1305_SHA256,
            suite::ECDHE_RSA_CHACHA20_POLY1305_SHA256,
            suite::ECDHE_ECDSA_AES_128_GCM_SHA256,
            suite::ECDHE_RSA_AES_128_GCM_SHA256,
            suite::ECDHE_ECDSA_AES_256_GCM_SHA384,
            suite::ECDHE_RSA_AES_256_GCM_SHA384,
            more::ECDHE_ECDSA_AES_128_CCM,
            more::ECDHE_ECDSA_AES_256_CCM,
            more::ECDHE_ECDSA_AES_128_CBC_SHA256,
            more::ECDHE_RSA_AES_128_CBC_SHA256,
            more::ECDHE_ECDSA_AES_256_CBC_SHA384,
            more::ECDHE_RSA_AES_256_CBC_SHA384,
            suite::ECDHE_ECDSA_AES_128_CBC_SHA,
            suite::ECDHE_RSA_AES_128_CBC_SHA,
            more::ECDHE_ECDSA_AES_256_CBC_SHA,
            more::ECDHE_RSA_AES_256_CBC_SHA,
            suite::RSA_AES_128_GCM_SHA256,
            more::RSA_AES_256_GCM_SHA384,
            more::RSA_AES_128_CBC_SHA256,
            more::RSA_AES_256_CBC_SHA256,
            suite::RSA_AES_128_CBC_SHA,
            more::RSA_AES_256_CBC_SHA,
        ],
        Source::Note(
            "suites_P, the default list (ECDH static and 3DES suites left out here); https://github.com/esp8266/Arduino/blob/3.1.2/libraries/ESP8266WiFi/src/WiFiClientSecureBearSSL.cpp",
        ),
    ),
    groups: at(
        &[group::SECP256R1, group::SECP384R1, group::SECP521R1, group::X25519],
        Source::Note(
            "as the core's own probeMaxFragmentLength() hello lists them; https://github.com/esp8266/Arduino/blob/3.1.2/libraries/ESP8266WiFi/src/WiFiClientSecureBearSSL.cpp",
        ),
    ),
    key_shares: at(&[], src(BEARSSL_CLIENT)),
    answers_hello_retry: at(false, src(BEARSSL_CLIENT)),
    signature_schemes: at(
        &[
            scheme::ECDSA_P256_SHA256,
            scheme::ECDSA_P384_SHA384,
            more::ECDSA_P521_SHA512,
            scheme::RSA_PKCS1_SHA256,
            scheme::RSA_PKCS1_SHA384,
            more::RSA_PKCS1_SHA512,
        ],
        Source::Note(
            "as the core's probeMaxFragmentLength() hello lists them (SHA-1 and SHA-224 pairs left out); https://github.com/esp8266/Arduino/blob/3.1.2/libraries/ESP8266WiFi/src/WiFiClientSecureBearSSL.cpp",
        ),
    ),
    keys: at(
        &[KeyType::Rsa, KeyType::EcdsaP256, KeyType::EcdsaP384, KeyType::EcdsaP521],
        Source::Note(
            "br_x509_minimal with RSA and ECDSA verifiers (_installClientX509Validator); https://github.com/esp8266/Arduino/blob/3.1.2/libraries/ESP8266WiFi/src/WiFiClientSecureBearSSL.cpp",
        ),
    ),
    cert_signatures: at(
        &[
            SigAlg::RsaPkcs1,
            SigAlg::EcdsaSha256,
            SigAlg::EcdsaSha384,
            SigAlg::EcdsaSha512,
        ],
        Source::Assumed(
            "BearSSL's X.509 engine verifies RSA PKCS#1 v1.5 and ECDSA signatures; no RSASSA-PSS was found in its API",
        ),
    ),
    read_buffer: at(
        16_384,
        Source::Note(
            "the constructor's setBufferSizes(16384, 512) (\"Minimum safe\"); https://github.com/esp8266/Arduino/blob/3.1.2/libraries/ESP8266WiFi/src/WiFiClientSecureBearSSL.cpp",
        ),
    ),
    max_fragment_length: at(
        None,
        Source::Note(
            "asked only when the receive buffer is set below 16 KB with setBufferSizes(); https://github.com/esp8266/Arduino/blob/3.1.2/doc/esp8266wifi/bearssl-client-secure-class.rst",
        ),
    ),
    smaller_buffer: at(
        Some(MaxFragmentLength::B512),
        Source::Note(
            "probeMaxFragmentLength(host, port, 512) then setBufferSizes(512, 512), the MFLN section; \
             https://github.com/esp8266/Arduino/blob/3.1.2/doc/esp8266wifi/bearssl-client-secure-class.rst",
        ),
    ),
    joins_records: at(
        true,
        Source::Assumed("BearSSL reads handshake messages as a stream, certificates included, whatever the records"),
    ),
    resumption: at(
        Resumption::SessionIdOptIn,
        Source::Note(
            "session IDs through setSession(), opt-in; no tickets; https://github.com/esp8266/Arduino/blob/3.1.2/doc/esp8266wifi/bearssl-client-secure-class.rst",
        ),
    ),
    sni: at(
        true,
        Source::Note(
            "br_ssl_client_reset(hostName); https://github.com/esp8266/Arduino/blob/3.1.2/libraries/ESP8266WiFi/src/WiFiClientSecureBearSSL.cpp",
        ),
    ),
    alpn: at(false, src(BEARSSL_CLIENT)),
    fixes: DeviceFixes {
        version: "BearSSL speaks up to TLS 1.2: the server must offer TLS 1.2",
        key: "BearSSL takes RSA and ECDSA P-256/P-384/P-521 certificates: the server needs one of those",
        buffer: "keep the receive buffer at 16 KB (setBufferSizes(16384, 512)) unless the server honours \
                 max_fragment_length (probeMaxFragmentLength())",
        negotiation: "list the server's suite with setCiphers(), or change the server's",
    },
    device_code: false,
};

const TLSPOST_RUSTLS_BACKEND: &str = "crates/tlspost-device/src/rustls_backend/mod.rs (this repository)";
const RUSTLS_CLIENT_CONFIG: &str = "https://docs.rs/rustls/0.23.46/rustls/client/struct.ClientConfig.html";

/// tlspost-device's rustls backend (feature `rustls`): rustls 0.23's unbuffered client with ring,
/// the same pinned-root checks as the embedded-tls backend, one session slot.
pub const TLSPOST_RUSTLS: Profile = Profile {
    name: "tlspost-rustls",
    stack: "rustls 0.23 (unbuffered, ring) + tlspost-device (rustls_backend)",
    describes: "rustls 0.23.46 with ring, tlspost-device 0.1 (this repository)",
    versions: at(
        &[Version::Tls13, Version::Tls12],
        Source::Note(
            "with_protocol_versions(&[TLS13, TLS12]); crates/tlspost-device/src/rustls_backend/mod.rs (this repository)",
        ),
    ),
    tls13_suites: at(
        &[
            suite::TLS13_AES_128_GCM_SHA256,
            suite::TLS13_CHACHA20_POLY1305_SHA256,
            suite::TLS13_AES_256_GCM_SHA384,
        ],
        Source::Note(
            "the provider's cipher_suites, ring's (https://docs.rs/rustls/0.23.46/rustls/crypto/ring/cipher_suite/index.html); \
             crates/tlspost-device/src/rustls_backend/mod.rs (this repository)",
        ),
    ),
    tls12_suites: at(
        &[
            suite::ECDHE_ECDSA_AES_128_GCM_SHA256,
            suite::ECDHE_ECDSA_CHACHA20_POLY1305_SHA256,
            suite::ECDHE_ECDSA_AES_256_GCM_SHA384,
            suite::ECDHE_RSA_AES_128_GCM_SHA256,
            suite::ECDHE_RSA_CHACHA20_POLY1305_SHA256,
        ],
        Source::Note(
            "ECDHE only; the ECDHE-RSA suites are offered so that an RSA-only server shows its certificate and the \
             verifier refuses it; crates/tlspost-device/src/rustls_backend/mod.rs (this repository)",
        ),
    ),
    groups: at(
        &[group::X25519, group::SECP256R1],
        Source::Note(
            "the provider's kx_groups, ring's X25519 and secp256r1 \
             (https://docs.rs/rustls/0.23.46/rustls/crypto/ring/kx_group/index.html); \
             crates/tlspost-device/src/rustls_backend/mod.rs (this repository)",
        ),
    ),
    key_shares: at(
        &[group::X25519],
        Source::Note(
            "one key share: the first group, or the one this server chose on the last connection \
             (initial_key_share); https://docs.rs/crate/rustls/0.23.46/source/src/client/tls13.rs",
        ),
    ),
    answers_hello_retry: at(
        true,
        Source::Note(
            "rustls answers a HelloRetryRequest for another offered group (ExpectServerHelloOrHelloRetryRequest); \
             https://docs.rs/crate/rustls/0.23.46/source/src/client/hs.rs",
        ),
    ),
    signature_schemes: at(
        &[
            scheme::ECDSA_P256_SHA256,
            scheme::ECDSA_P384_SHA384,
            scheme::RSA_PSS_SHA256,
            scheme::RSA_PKCS1_SHA256,
            scheme::RSA_PSS_SHA384,
            scheme::RSA_PKCS1_SHA384,
        ],
        Source::Note(
            "the verifier's supported_verify_schemes: RSA offered so that an RSA server is refused by the verifier \
             (UnsupportedKey), not by an alert; crates/tlspost-device/src/rustls_backend/verifier.rs (this repository)",
        ),
    ),
    keys: at(&[KeyType::EcdsaP256, KeyType::EcdsaP384], src(TLSPOST_DEVICE)),
    cert_signatures: at(&[SigAlg::EcdsaSha256, SigAlg::EcdsaSha384], src(TLSPOST_DEVICE)),
    read_buffer: at(
        16_384,
        Source::Note(
            "the incoming record buffer, INCOMING_LEN = 16,645 bytes: one whole record; \
             crates/tlspost-device/src/rustls_backend/mod.rs (this repository)",
        ),
    ),
    max_fragment_length: at(
        None,
        Source::Note(
            "rustls has no max_fragment_length extension (RFC 6066): ClientConfig::max_fragment_size only bounds the \
             records it sends; https://docs.rs/rustls/0.23.46/rustls/client/struct.ClientConfig.html",
        ),
    ),
    smaller_buffer: at(None, src(RUSTLS_CLIENT_CONFIG)),
    joins_records: at(
        true,
        Source::Note(
            "rustls joins a handshake message across records in the incoming buffer; the backend refuses a server \
             handshake over Limits::server_handshake (8,192 bytes by default) before rustls allocates for it; \
             crates/tlspost-device/src/rustls_backend/conn.rs (this repository)",
        ),
    ),
    resumption: at(
        Resumption::ByDefault,
        Source::Note(
            "the client's SessionSlot keeps the last session (TLS 1.3 ticket, TLS 1.2 session ID or ticket) and the next \
             connection offers it; crates/tlspost-device/src/rustls_backend/session.rs (this repository)",
        ),
    ),
    sni: at(true, src(TLSPOST_RUSTLS_BACKEND)),
    alpn: at(false, src(TLSPOST_RUSTLS_BACKEND)),
    fixes: DeviceFixes {
        version: "the rustls backend speaks TLS 1.2 and 1.3: the server must offer one of them",
        key: "the device's verifier takes ECDSA P-256/P-384 keys and ECDSA signatures only: the server needs an ECDSA \
              certificate chain",
        buffer: "the incoming buffer must hold a whole record (16,645 bytes): rustls cannot ask the server for \
                 smaller records",
        negotiation: "the rustls backend offers X25519 and secp256r1 with AES-GCM and ChaCha20-Poly1305 (ECDHE in TLS \
                      1.2): the server must take one of those",
    },
    device_code: false,
};

/// Every profile, in the order the doctor lists them.
pub const PROFILES: &[&Profile] = &[&TLSPOST, &ESP_IDF, &ARDUINO_ESP32, &ESP8266, &TLSPOST_RUSTLS];
