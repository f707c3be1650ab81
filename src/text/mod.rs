//! Text: entities found in message bodies, OCR text and documents.

pub mod corpus;
pub mod entities;
pub mod index;
