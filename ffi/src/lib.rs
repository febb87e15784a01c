//! C ABI for cortiauth (work in progress).
