//! Export then import: every format gives back the dataset it was made from.

mod round_trip;
