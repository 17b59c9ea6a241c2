//! tlspost-capture (being written).
