//! Python bindings for cortiauth (work in progress).
