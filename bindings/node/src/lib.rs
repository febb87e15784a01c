//! Node.js bindings for cortiauth (work in progress).
