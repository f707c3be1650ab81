//! Images and video (issue 3, in progress): so far the PDQ perceptual hash.

pub mod pdq;
