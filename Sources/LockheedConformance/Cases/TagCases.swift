import LockheedCore
import Testing

let tagCases: [ConformanceCase] = [
    ConformanceCase("tags are added as an ordered union and replaced with reset") { fixture in
        let (a, b) = try await twoLockers(fixture)
        let lock = try name("tags")
        _ = try await a.acquire(request(lock, "holder-a", tags: ["x", "y"]))
        #expect(try await a.state(of: lock)?.tags == ["x", "y"])
        _ = try await a.release(lock, holder: "holder-a")
        _ = try await b.acquire(request(lock, "holder-b", tags: ["y", "z"]))
        #expect(try await b.state(of: lock)?.tags == ["x", "y", "z"])
        _ = try await b.acquire(request(lock, "holder-b", tags: ["q"], resetTags: true))
        #expect(try await b.state(of: lock)?.tags == ["q"])
    },
    ConformanceCase("a refused acquire does not change the tags") { fixture in
        let (a, b) = try await twoLockers(fixture)
        let lock = try name("tags-refused")
        _ = try await a.acquire(request(lock, "holder-a", tags: ["mine"]))
        _ = try await lockheedError {
            try await b.acquire(request(lock, "holder-b", tags: ["theirs"], resetTags: true))
        }
        #expect(try await a.state(of: lock)?.tags == ["mine"])
    },
]
