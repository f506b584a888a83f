import LockheedConformance
import Testing

/// Every SQLite test, run one at a time: the multi-process tests load both cores for seconds,
/// which would starve the timing-sensitive cases (short leases, renewals) running beside them.
@Suite("SQLite backend", .serialized, .timeSensitive)
struct SQLiteBackendTests {}
