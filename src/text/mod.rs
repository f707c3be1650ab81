//! Text: entities found in message bodies, OCR text and documents.

pub mod corpus;
pub mod encoding;
pub mod entities;
pub mod identifiers;
pub mod index;
