//! tlspost-certs (being written).
