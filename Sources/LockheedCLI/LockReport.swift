import Foundation
import Lockheed

/// How `list`, `show` and the waiting messages render locks and leases.
enum LockReport {
    /// A lock as `--format json` prints it: stable keys, ISO 8601 dates.
    struct LockJSON: Codable {
        var name: String
        var type: String
        var maxHolders: Int
        var acquired: Bool
        var tags: [String]
        var fencingCounter: UInt64
        var leases: [LeaseJSON]
        /// The Go original's reservation (not a lease), when one stands.
        var reservation: ReservationJSON?

        init(_ state: LockState, now: Date) {
            name = state.name.rawValue
            type = state.type.kind
            maxHolders = state.type.capacity
            let active = state.activeLeases(at: now)
            acquired = !active.isEmpty
            tags = state.tags
            fencingCounter = state.fencingCounter
            leases = active.map(LeaseJSON.init)
            reservation = state.reservation.flatMap { $0.isActive(at: now) ? ReservationJSON($0) : nil }
        }
    }

    /// A reservation as `--format json` prints it.
    struct ReservationJSON: Codable {
        var holder: String
        var until: Date

        init(_ reservation: LockReservation) {
            holder = reservation.holder
            until = reservation.until
        }
    }

    /// A lease as `--format json` prints it; `acquiredAt` is absent when the writer did not
    /// record it (the Go original), `fencingToken` is 0 when it issued none.
    struct LeaseJSON: Codable {
        var holder: String
        var acquiredAt: Date?
        var expiresAt: Date?
        var fencingToken: UInt64

        init(_ lease: Lease) {
            holder = lease.holder
            acquiredAt = lease.acquiredAt == .distantPast ? nil : lease.acquiredAt
            expiresAt = lease.expiresAt
            fencingToken = lease.fencingToken
        }
    }

    /// Pretty-printed JSON with sorted keys and ISO 8601 dates.
    static func json(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        do { return String(decoding: try encoder.encode(value), as: UTF8.self) } catch {
            return "null"
        }
    }

    /// A table with one row per active lease (one row for a lock without leases).
    static func table(_ states: [LockState], now: Date) -> String {
        var rows = [["NAME", "TYPE", "HOLDER", "EXPIRES", "TOKEN", "TAGS"]]
        for state in states.sorted(by: { $0.name < $1.name }) {
            let tags = state.tags.isEmpty ? "-" : state.tags.joined(separator: ",")
            let active = state.activeLeases(at: now)
            let reservation = state.reservation.flatMap { $0.isActive(at: now) ? $0 : nil }
            if active.isEmpty && reservation == nil {
                rows.append([state.name.rawValue, state.type.description, "-", "-", "(\(state.fencingCounter))", tags])
            }
            for lease in active {
                rows.append([
                    state.name.rawValue, state.type.description, lease.holder, expiry(of: lease, now: now),
                    token(of: lease), tags,
                ])
            }
            if let reservation {
                rows.append([
                    state.name.rawValue, state.type.description, "reserved by \(reservation.holder)",
                    expiry(reservation.until, now: now), "-", tags,
                ])
            }
        }
        let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// The lease's token, or `-` when its writer issued none (the Go original).
    static func token(of lease: Lease) -> String { lease.fencingToken == 0 ? "-" : "\(lease.fencingToken)" }

    /// `20:31:05 (in 25s)`, or `never` for a lease without expiry.
    static func expiry(of lease: Lease, now: Date) -> String {
        guard let expiresAt = lease.expiresAt else { return "never" }
        return expiry(expiresAt, now: now)
    }

    /// `20:31:05 (in 25s)`.
    static func expiry(_ expiresAt: Date, now: Date) -> String {
        let remaining = max(0, expiresAt.timeIntervalSince(now))
        return "\(clock(expiresAt)) (in \(DurationSyntax.format(.seconds(Int(remaining.rounded(.up))))))"
    }

    /// The local time of day, `HH:mm:ss`.
    static func clock(_ date: Date) -> String {
        let parts = Calendar.current.dateComponents([.hour, .minute, .second], from: date)
        return String(format: "%02d:%02d:%02d", parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0)
    }

    /// `HOLDER until 20:31:05 (in 25s) (token 3)` for each lease, joined; a Go reservation in a
    /// refusal as `a reservation by HOLDER until 20:31:05 (in 25s) (not a lease)`.
    static func holders(_ leases: [Lease], now: Date) -> String {
        leases.map { lease in
            if let reservation = LockReservation(representedBy: lease) {
                return "a reservation by \(reservation.holder) until \(expiry(reservation.until, now: now))"
                    + " (not a lease)"
            }
            let token = lease.fencingToken == 0 ? "no fencing token" : "token \(lease.fencingToken)"
            return lease.expiresAt == nil
                ? "\(lease.holder) with no expiry (\(token))"
                : "\(lease.holder) until \(expiry(of: lease, now: now)) (\(token))"
        }.joined(separator: "; ")
    }

    /// A multi-line description of one lock for `show`.
    static func detail(_ state: LockState, now: Date) -> String {
        let active = state.activeLeases(at: now)
        var lines = [
            "name:            \(state.name)",
            "type:            \(state.type)",
            "acquired:        \(active.isEmpty ? "no" : "yes")",
            "tags:            \(state.tags.isEmpty ? "-" : state.tags.joined(separator: ", "))",
            "fencing counter: \(state.fencingCounter)",
        ]
        for lease in active {
            lines.append("lease:           \(lease.holder)")
            lines.append(
                "  token:         \(lease.fencingToken == 0 ? "none (written by a client without tokens)" : "\(lease.fencingToken)")"
            )
            lines.append(
                "  acquired at:   \(lease.acquiredAt == .distantPast ? "unknown (not recorded by its writer)" : lease.acquiredAt.formatted(.iso8601))"
            )
            lines.append(
                "  expires:       \(lease.expiresAt.map { "\($0.formatted(.iso8601)) (\(expiry(of: lease, now: now)))" } ?? "never")"
            )
        }
        if let reservation = state.reservation, reservation.isActive(at: now) {
            lines.append(
                "reserved:        by \(reservation.holder) until \(reservation.until.formatted(.iso8601)) "
                    + "(\(expiry(reservation.until, now: now))): not a lease; others' acquires are refused until then")
        }
        return lines.joined(separator: "\n")
    }
}
