//! tlspost client drivers (being written).
