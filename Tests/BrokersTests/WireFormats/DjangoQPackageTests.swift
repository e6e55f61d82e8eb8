import Engine
import Testing

@testable import Brokers

@Suite struct DjangoQPackageTests {
    static let signer = DjangoSigner(secret: "wire-test-secret-key", salt: "wireq")
    static let stamp = DjangoQPackage.Stamp(
        id: "0123456789abcdef0123456789abcdef", name: "swift-01234567", startedAt: 1_796_396_400_000_000)

    /// Checked with `django_q.signing.SignedPackage.loads` under SECRET_KEY
    /// `wire-test-secret-key` and Q_CLUSTER name `wireq`.
    static let vector = """
        gAJ9KFgCAAAAaWRYIAAAADAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmWAQAAABuYW1lWA4AAABzd2lmdC0w\
        MTIzNDU2N1gEAAAAZnVuY1gmAAAAcmVzdGZsb3cuY2FjaGluZy50YXNrcy5ydW5fY2FjaGVfcnVsZXNYBAAAAGFyZ3Nd\
        KEsBZX0oWAEAAAAxfShYAgAAAHBrSyp1dYZYBgAAAGt3YXJnc30oWA8AAABkaXNwYXRjaGVyX25hbWVYCAAAAGRqYW5n\
        b19xdVgHAAAAc3RhcnRlZGNkYXRldGltZQpkYXRldGltZQpDCgfqDAQPAAAAAABjZGF0ZXRpbWUKdGltZXpvbmUKY2Rh\
        dGV0aW1lCnRpbWVkZWx0YQpLAEsASwCHUoVShlJ1Lg:1xZUlU:hi1441BD21T_pkFqValycIr8JbnozMr_Pju37RBBcnE
        """

    @Test func reproducesTestVector() {
        let package = DjangoQPackage.encode(WireFixtures.djangoQTask, stamp: Self.stamp, signer: Self.signer, compress: false)
        #expect(package == Self.vector)
    }

    @Test func compressedValueStartsWithDot() throws {
        // The vector's pickle shrinks by more than one byte under zlib, so it is stored compressed.
        let package = DjangoQPackage.encode(WireFixtures.djangoQTask, stamp: Self.stamp, signer: Self.signer, compress: true)
        let (value, seconds) = try Self.signer.unsign(package)
        #expect(value.hasPrefix("."))
        #expect(seconds == 1_796_396_400)
    }

    @Test func tinyPickleStaysUncompressed() throws {
        let package = DjangoQPackage.sign([0x80, 0x02, 0x4E, 0x2E], signer: Self.signer, compress: true, secondsSinceEpoch: 0)
        #expect(try Self.signer.unsign(package).value == "gAJOLg")
    }

    @Test func decodesTestVector() throws {
        let task = try DjangoQPackage.decode(Self.vector, signer: Self.signer)
        #expect(task.id == "0123456789abcdef0123456789abcdef")
        #expect(task.taskName == "restflow.caching.tasks.run_cache_rules")
        #expect(task.args == [[1], ["1": ["pk": 42]]])
        #expect(task.kwargs == WireFixtures.object(["dispatcher_name": "django_q"]))
        #expect(task.enqueuedAt == 1_796_396_400)
    }

    @Test func decodesCompressedPackage() throws {
        let package = DjangoQPackage.encode(WireFixtures.djangoQTask, stamp: Self.stamp, signer: Self.signer, compress: true)
        let task = try DjangoQPackage.decode(package, signer: Self.signer)
        #expect(task.args == WireFixtures.djangoQTask.args)
    }

    @Test func rejectsWrongSecret() {
        let other = DjangoSigner(secret: "another-secret", salt: "wireq")
        #expect {
            try DjangoQPackage.decode(Self.vector, signer: other)
        } throws: { error in
            (error as? WireFormatError)?.message.contains("signature does not match") == true
        }
    }

    @Test func optionalKeysSitBetweenArgsAndKwargs() {
        var task = WireFixtures.djangoQTask
        task.options = WireFixtures.object(["group": "invalidation", "cluster": "wireq", "priority": 3])
        guard case .dict(let entries) = DjangoQPackage.taskDict(task, stamp: Self.stamp) else {
            Issue.record("the task is not a dict")
            return
        }
        #expect(entries.map(\.key) == ["id", "name", "func", "args", "group", "cluster", "kwargs", "started"].map(PickleValue.string))
    }

    @Test func hmacMatchesRFC4231() {
        let digest = DjangoSigner.hmacSHA256(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        #expect(WireFixtures.hex(digest) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func base62RoundTrips() {
        #expect(Base62.encode(1_796_396_400) == "1xZUlU")
        #expect(Base62.decode("1xZUlU") == 1_796_396_400)
        #expect(Base62.encode(0) == "0")
        #expect(Base62.decode("-z") == -61)
        #expect(Base62.decode("no!") == nil)
    }
}
