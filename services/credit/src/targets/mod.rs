//! The targets board: the city's heating targets measured from the published log, for the
//! regulator's desk and the public board.

pub mod board;
pub mod feed;
pub mod map;
