//! The contracts between stages, depending on nothing else in the crate (DESIGN: "typed
//! records … in a module that imports nothing else of the crate"). Issue 12 moves the records
//! here one by one: the records analyzers return ([`records`]), the lead states, and the
//! catalogue of observation kinds, which the rules are checked against when they load.

pub mod leads;
pub mod records;
pub use leads::{
    IdentityObservations, ItemObservations, LeadCounts, LeadDraft, LeadRow, ReviewRow,
    StoredObservation,
};
pub use records::{
    Analysis, CaseText, CommRecord, Embedded, FoundText, IdentityDecision, ItemError, ItemId,
    ObservationDraft, Participant, PassCard, PassOutput, RecordKind, RecordTime, RecordedEntry,
    RecordedSource, Stage, StoredEmbedding, StoredGps, StoredParticipant, StoredPdq, StoredRecord,
};

/// One kind of observation as the catalogue describes it: its name, which stage makes it,
/// and every field of its value.
#[derive(Clone, Copy, Debug)]
pub struct KindSpec {
    pub name: &'static str,
    pub made_by: &'static str,
    pub fields: &'static [&'static str],
}

/// Every observation kind spoor records. A producer that adds a kind or a field adds it here;
/// the test suite checks that every observation any test exports is of a kind listed here
/// with only these fields (tests/common::export).
pub const OBSERVATION_KINDS: &[KindSpec] = &[
    KindSpec {
        name: "archive.zip",
        made_by: "archive",
        fields: &[
            "members",
            "extracted",
            "directories",
            "not_extracted",
            "names_used_more_than_once",
            "problems",
            "comment",
            "not_extracted_because",
        ],
    },
    KindSpec {
        name: "comms.export",
        made_by: "comms",
        fields: &[
            "format", "records", "by_kind", "damaged", "summary", "encoding", "offsets", "streamed",
        ],
    },
    KindSpec {
        name: "hashset.match",
        made_by: "hashsets",
        fields: &[
            "set",
            "status",
            "category",
            "algorithm",
            "entry_name",
            "entries_matched",
            "size_agrees",
        ],
    },
    KindSpec {
        name: "image.animation",
        made_by: "media",
        fields: &["frames", "frames_examined"],
    },
    KindSpec {
        name: "image.classification",
        made_by: "vision",
        fields: &[
            "model",
            "task",
            "scores",
            "top",
            "label",
            "score",
            "above_threshold",
        ],
    },
    KindSpec {
        name: "image.embedding",
        made_by: "vision",
        fields: &["model", "dim", "encoding", "vector"],
    },
    KindSpec {
        name: "image.exif",
        made_by: "media",
        fields: &[
            "make",
            "model",
            "lens",
            "software",
            "body_serial_number",
            "datetime_original",
            "time_zone",
            "utc_offset",
            "orientation",
            "gps",
            "embedded_thumbnail",
            "from_xmp",
            "invalid",
        ],
    },
    KindSpec {
        name: "image.faces",
        made_by: "vision",
        fields: &["model", "count", "faces", "best_score", "frame"],
    },
    KindSpec {
        name: "image.gps",
        made_by: "media",
        fields: &["latitude", "longitude", "altitude"],
    },
    KindSpec {
        name: "image.near_duplicate",
        made_by: "media",
        fields: &["cluster", "size", "nearest_distance", "members"],
    },
    KindSpec {
        name: "image.object",
        made_by: "vision",
        fields: &["model", "task", "label", "count", "score", "boxes", "frame"],
    },
    KindSpec {
        name: "image.object_of_interest",
        made_by: "interest",
        fields: &["model", "label", "count", "score", "list", "list_sha256"],
    },
    KindSpec {
        name: "image.pdq",
        made_by: "media",
        fields: &["hash", "quality", "width", "height", "dihedral"],
    },
    KindSpec {
        name: "image.pdq_match",
        made_by: "media",
        fields: &[
            "list",
            "status",
            "category",
            "distance",
            "entry_hash",
            "transform",
        ],
    },
    KindSpec {
        name: "image.similar",
        made_by: "vision",
        fields: &[
            "model",
            "threshold",
            "best_similarity",
            "other_device",
            "best_other_device_similarity",
            "neighbours",
        ],
    },
    KindSpec {
        name: "image.text",
        made_by: "vision",
        fields: &["model", "text", "lines", "mean_score", "frame"],
    },
    KindSpec {
        name: "location.place",
        made_by: "places",
        fields: &["place", "members", "centroid", "nearest", "nearest_to_item"],
    },
    KindSpec {
        name: "location.place_of_interest",
        made_by: "interest",
        fields: &[
            "place",
            "distance_m",
            "radius_m",
            "latitude",
            "longitude",
            "list",
            "list_sha256",
        ],
    },
    KindSpec {
        name: "location.possible_place",
        made_by: "vision",
        fields: &[
            "place",
            "similarity",
            "rank",
            "gallery_picture",
            "model",
            "threshold",
            "meaning",
        ],
    },
    KindSpec {
        name: "network.activity",
        made_by: "network",
        fields: &[
            "label",
            "contacts",
            "first",
            "last",
            "active_days",
            "by_hour_of_week",
            "busiest_hour_of_week",
            "time_basis",
        ],
    },
    KindSpec {
        name: "network.burner",
        made_by: "network",
        fields: &[
            "label",
            "identifiers",
            "first",
            "last",
            "active_days",
            "contacts",
            "correspondents",
            "central_correspondents",
            "case_days",
        ],
    },
    KindSpec {
        name: "network.cross_device",
        made_by: "network",
        fields: &["label", "devices", "device_count", "identifiers", "merges"],
    },
    KindSpec {
        name: "network.metrics",
        made_by: "network",
        fields: &[
            "label",
            "identities",
            "degree",
            "in_degree",
            "out_degree",
            "strength",
            "betweenness",
            "betweenness_rank",
            "betweenness_method",
            "weighted_betweenness",
            "closeness",
            "harmonic",
            "pagerank",
            "eigenvector",
            "core",
            "max_core",
            "inner_core",
            "constraint",
            "effective_size",
            "articulation_point",
            "component",
            "component_size",
            "community",
            "community_size",
            "participation",
            "communities_reached",
            "ties_outside",
        ],
    },
    KindSpec {
        name: "scene.hint",
        made_by: "vision",
        fields: &["scene", "because", "model", "method"],
    },
    KindSpec {
        name: "text.document",
        made_by: "text",
        fields: &["text", "bytes", "encoding", "truncated"],
    },
    KindSpec {
        name: "text.entity",
        made_by: "text",
        fields: &["entity", "value", "check", "count", "occurrences"],
    },
    KindSpec {
        name: "text.keyword_hit",
        made_by: "text",
        fields: &["term", "category", "count", "occurrences"],
    },
    KindSpec {
        name: "type.extension_mismatch",
        made_by: "typing",
        fields: &["extension", "detected_mime", "detected_extension"],
    },
    KindSpec {
        name: "watchlist.match",
        made_by: "interest",
        fields: &[
            "entity",
            "value",
            "note",
            "count",
            "found_as",
            "occurrences",
            "list",
            "list_sha256",
        ],
    },
    KindSpec {
        name: "video.keyframes",
        made_by: "video",
        fields: &[
            "container",
            "duration",
            "stream",
            "frames_kept",
            "truncated",
        ],
    },
];

/// Every kind of observation spoor makes, closed: a producer names its kind by variant, so a
/// misspelt kind does not compile; stored and exported as its name (`image.pdq`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObservationKind {
    ArchiveZip,
    CommsExport,
    HashsetMatch,
    ImageAnimation,
    ImageClassification,
    ImageEmbedding,
    ImageExif,
    ImageFaces,
    ImageGps,
    ImageNearDuplicate,
    ImageObject,
    ImageObjectOfInterest,
    ImagePdq,
    ImagePdqMatch,
    ImageSimilar,
    ImageText,
    LocationPlace,
    LocationPlaceOfInterest,
    LocationPossiblePlace,
    NetworkActivity,
    NetworkBurner,
    NetworkCrossDevice,
    NetworkMetrics,
    SceneHint,
    TextDocument,
    TextEntity,
    TextKeywordHit,
    TypeExtensionMismatch,
    VideoKeyframes,
    WatchlistMatch,
}

impl ObservationKind {
    pub const ALL: [ObservationKind; 30] = [
        ObservationKind::ArchiveZip,
        ObservationKind::CommsExport,
        ObservationKind::HashsetMatch,
        ObservationKind::ImageAnimation,
        ObservationKind::ImageClassification,
        ObservationKind::ImageEmbedding,
        ObservationKind::ImageExif,
        ObservationKind::ImageFaces,
        ObservationKind::ImageGps,
        ObservationKind::ImageNearDuplicate,
        ObservationKind::ImageObject,
        ObservationKind::ImageObjectOfInterest,
        ObservationKind::ImagePdq,
        ObservationKind::ImagePdqMatch,
        ObservationKind::ImageSimilar,
        ObservationKind::ImageText,
        ObservationKind::LocationPlace,
        ObservationKind::LocationPlaceOfInterest,
        ObservationKind::LocationPossiblePlace,
        ObservationKind::NetworkActivity,
        ObservationKind::NetworkBurner,
        ObservationKind::NetworkCrossDevice,
        ObservationKind::NetworkMetrics,
        ObservationKind::SceneHint,
        ObservationKind::TextDocument,
        ObservationKind::TextEntity,
        ObservationKind::TextKeywordHit,
        ObservationKind::TypeExtensionMismatch,
        ObservationKind::VideoKeyframes,
        ObservationKind::WatchlistMatch,
    ];

    /// As stored and exported.
    pub fn name(self) -> &'static str {
        match self {
            ObservationKind::ArchiveZip => "archive.zip",
            ObservationKind::CommsExport => "comms.export",
            ObservationKind::HashsetMatch => "hashset.match",
            ObservationKind::ImageAnimation => "image.animation",
            ObservationKind::ImageClassification => "image.classification",
            ObservationKind::ImageEmbedding => "image.embedding",
            ObservationKind::ImageExif => "image.exif",
            ObservationKind::ImageFaces => "image.faces",
            ObservationKind::ImageGps => "image.gps",
            ObservationKind::ImageNearDuplicate => "image.near_duplicate",
            ObservationKind::ImageObject => "image.object",
            ObservationKind::ImageObjectOfInterest => "image.object_of_interest",
            ObservationKind::ImagePdq => "image.pdq",
            ObservationKind::ImagePdqMatch => "image.pdq_match",
            ObservationKind::ImageSimilar => "image.similar",
            ObservationKind::ImageText => "image.text",
            ObservationKind::LocationPlace => "location.place",
            ObservationKind::LocationPlaceOfInterest => "location.place_of_interest",
            ObservationKind::LocationPossiblePlace => "location.possible_place",
            ObservationKind::NetworkActivity => "network.activity",
            ObservationKind::NetworkBurner => "network.burner",
            ObservationKind::NetworkCrossDevice => "network.cross_device",
            ObservationKind::NetworkMetrics => "network.metrics",
            ObservationKind::SceneHint => "scene.hint",
            ObservationKind::TextDocument => "text.document",
            ObservationKind::TextEntity => "text.entity",
            ObservationKind::TextKeywordHit => "text.keyword_hit",
            ObservationKind::TypeExtensionMismatch => "type.extension_mismatch",
            ObservationKind::VideoKeyframes => "video.keyframes",
            ObservationKind::WatchlistMatch => "watchlist.match",
        }
    }

    pub fn parse(name: &str) -> Option<ObservationKind> {
        ObservationKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Its entry in [`OBSERVATION_KINDS`] (which stage makes it, its fields).
    pub fn spec(self) -> &'static KindSpec {
        OBSERVATION_KINDS
            .iter()
            .find(|k| k.name == self.name())
            .expect("every kind is in the catalogue (tested)")
    }
}

impl std::fmt::Display for ObservationKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

impl serde::Serialize for ObservationKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Fields every observation has beside its value's, usable in a rule's conditions.
pub const OBSERVATION_ATTRIBUTES: &[&str] = &["confidence", "analyzer"];

pub fn observation_kind(name: &str) -> Option<&'static KindSpec> {
    OBSERVATION_KINDS.iter().find(|k| k.name == name)
}

/// The known kind closest to a misspelt one (edit distance at most 3), for the error message.
pub fn closest_kind(name: &str) -> Option<&'static str> {
    OBSERVATION_KINDS
        .iter()
        .map(|k| (edit_distance(name, k.name), k.name))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, n)| n)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    #[test]
    fn kinds_are_unique_and_a_misspelling_finds_its_kind() {
        let mut names: Vec<&str> = super::OBSERVATION_KINDS.iter().map(|k| k.name).collect();
        names.sort();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before);
        assert_eq!(super::closest_kind("hashset.mach"), Some("hashset.match"));
        assert_eq!(
            super::closest_kind("image.pdq_mtch"),
            Some("image.pdq_match")
        );
        assert_eq!(super::closest_kind("something.else"), None);
        // The closed enum and the catalogue list the same kinds.
        assert_eq!(
            super::ObservationKind::ALL.len(),
            super::OBSERVATION_KINDS.len()
        );
        for kind in super::ObservationKind::ALL {
            assert_eq!(kind.spec().name, kind.name());
            assert_eq!(super::ObservationKind::parse(kind.name()), Some(kind));
        }
    }
}

/// Where a lead stands: proposed by the rules, or decided by a named reviewer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LeadState {
    Proposed,
    Confirmed,
    Rejected,
    NeedsInfo,
}

impl LeadState {
    pub const ALL: [LeadState; 4] = [
        LeadState::Proposed,
        LeadState::Confirmed,
        LeadState::Rejected,
        LeadState::NeedsInfo,
    ];

    /// As stored and exported.
    pub fn as_str(self) -> &'static str {
        match self {
            LeadState::Proposed => "proposed",
            LeadState::Confirmed => "confirmed",
            LeadState::Rejected => "rejected",
            LeadState::NeedsInfo => "needs-info",
        }
    }

    pub fn parse(s: &str) -> Option<LeadState> {
        LeadState::ALL.into_iter().find(|l| l.as_str() == s)
    }

    /// Waiting for a person: proposed, or sent back for more information.
    pub fn awaiting_review(self) -> bool {
        matches!(self, LeadState::Proposed | LeadState::NeedsInfo)
    }
}

impl std::fmt::Display for LeadState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// What a lead is about (DESIGN: "a lead is about a subject of any kind").
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Subject {
    /// A file or a derived item (a zip member, an attachment, a keyframe), by its source's
    /// label and its path: stable across scans, unlike the store's row ids.
    Item {
        source: String,
        path: Vec<u8>,
    },
    /// A person as far as the evidence shows (issue 13's identities).
    Identity(String),
    /// Two identities, in a stable order.
    IdentityPair(String, String),
    Place(String),
    PictureCluster(String),
    Case,
}

/// The kinds of subject a lead can be about, as stored in `leads.subject`.
pub const SUBJECT_KINDS: &[&str] = &[
    "item",
    "identity",
    "identity-pair",
    "place",
    "picture-cluster",
    "case",
];

impl Subject {
    /// The kind, as stored in `leads.subject`.
    pub fn kind(&self) -> &'static str {
        match self {
            Subject::Item { .. } => "item",
            Subject::Identity(_) => "identity",
            Subject::IdentityPair(..) => "identity-pair",
            Subject::Place(_) => "place",
            Subject::PictureCluster(_) => "picture-cluster",
            Subject::Case => "case",
        }
    }

    /// Names the subject uniquely among its kind, as stored in `leads.subject_key`.
    pub fn key(&self) -> String {
        match self {
            Subject::Item { source, path } => {
                let hex: String = path.iter().map(|b| format!("{b:02x}")).collect();
                format!("item:{source}:{hex}")
            }
            Subject::Identity(id) => format!("identity:{id}"),
            Subject::IdentityPair(a, b) => {
                let (a, b) = if a <= b { (a, b) } else { (b, a) };
                format!("identity-pair:{a}|{b}")
            }
            Subject::Place(p) => format!("place:{p}"),
            Subject::PictureCluster(c) => format!("picture-cluster:{c}"),
            Subject::Case => "case".to_string(),
        }
    }
}

#[cfg(test)]
mod subject_tests {
    #[test]
    fn subject_keys_are_stable_names() {
        let item = super::Subject::Item {
            source: "phone".into(),
            path: b"a/\xe9.jpg".to_vec(),
        };
        assert_eq!(item.key(), "item:phone:612fe92e6a7067");
        let ab = super::Subject::IdentityPair("b".into(), "a".into());
        assert_eq!(ab.key(), "identity-pair:a|b");
    }
}
