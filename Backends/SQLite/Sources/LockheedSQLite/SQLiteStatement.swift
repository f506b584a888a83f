import CSQLite

/// A value bound to a statement parameter: text, an integer, or an optional integer (`nil` binds
/// NULL).
protocol SQLiteBindable {
    /// Bytes the value takes in its statement's text buffer: its UTF-8 and a NUL for text, 0 else.
    var textBytes: Int { get }

    /// Binds the value to parameter `index` (from 1) of `statement`; text is copied to `text`,
    /// which has room for ``textBytes`` and is moved past them. Returns SQLite's code.
    func bind(to statement: OpaquePointer, at index: Int32, text: inout UnsafeMutablePointer<UInt8>) -> Int32
}

extension String: SQLiteBindable {
    var textBytes: Int { utf8.count + 1 }

    func bind(to statement: OpaquePointer, at index: Int32, text: inout UnsafeMutablePointer<UInt8>) -> Int32 {
        let start = text
        var count = 0
        let copied: Void? = utf8.withContiguousStorageIfAvailable { bytes in
            if let base = bytes.baseAddress { start.update(from: base, count: bytes.count) }
            count = bytes.count
        }
        if copied == nil {
            for byte in utf8 {
                start[count] = byte
                count += 1
            }
        }
        start[count] = 0
        text = start + count + 1
        // SQLITE_STATIC (no destructor): SQLite reads the text from the statement's buffer.
        return sqlite3_bind_text64(statement, index, start, UInt64(count), nil, UInt8(SQLITE_UTF8))
    }
}

extension Int64: SQLiteBindable {
    var textBytes: Int { 0 }

    func bind(to statement: OpaquePointer, at index: Int32, text: inout UnsafeMutablePointer<UInt8>) -> Int32 {
        sqlite3_bind_int64(statement, index, self)
    }
}

extension Optional: SQLiteBindable where Wrapped == Int64 {
    var textBytes: Int { 0 }

    func bind(to statement: OpaquePointer, at index: Int32, text: inout UnsafeMutablePointer<UInt8>) -> Int32 {
        guard let self else { return sqlite3_bind_null(statement, index) }
        return sqlite3_bind_int64(statement, index, self)
    }
}

/// A prepared statement and the buffer its text parameters are bound from, so binding text
/// neither allocates nor makes SQLite copy it (the bare C floor binds static text the same way).
///
/// SQLite reads bound text from the buffer until the parameter is bound again; parameters are
/// bound only while the statement is reset, every parameter at every run, and each statement
/// has its own buffer, so no text is overwritten while a statement reads it.
final class SQLiteStatement {
    /// The libsqlite3 statement.
    let handle: OpaquePointer
    private var buffer: UnsafeMutablePointer<UInt8>?
    private var capacity = 0

    init(handle: OpaquePointer) { self.handle = handle }

    deinit {
        sqlite3_finalize(handle)
        buffer?.deallocate()
    }

    /// Binds `values` to the parameters from 1 on; returns SQLite's code of the first failure,
    /// or `SQLITE_OK`.
    func bind<each V: SQLiteBindable>(_ values: repeat each V) -> Int32 {
        var needed = 0
        for value in repeat each values { needed += value.textBytes }
        if buffer == nil || needed > capacity {
            // Every parameter is bound again below, so no binding keeps pointing at the old buffer.
            buffer?.deallocate()
            capacity = max(needed, 2 * capacity, 256)
            buffer = .allocate(capacity: capacity)
        }
        guard var text = buffer else { return SQLITE_NOMEM }
        var index: Int32 = 0
        for value in repeat each values {
            index += 1
            let code = value.bind(to: handle, at: index, text: &text)
            guard code == SQLITE_OK else { return code }
        }
        return SQLITE_OK
    }
}
