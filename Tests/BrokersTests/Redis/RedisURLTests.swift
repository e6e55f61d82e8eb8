import Testing

@testable import Brokers

@Suite struct RedisURLTests {
    @Test func parsesFullURL() throws {
        let url = try RedisURL(parsing: "redis://worker:p%40ss@cache.internal:6390/3")
        #expect(url.host == "cache.internal")
        #expect(url.port == 6390)
        #expect(url.database == 3)
        #expect(url.user == "worker")
        #expect(url.password == "p@ss")
    }

    @Test func appliesDefaults() throws {
        let url = try RedisURL(parsing: "redis://127.0.0.1")
        #expect(url.port == 6379)
        #expect(url.database == 0)
        #expect(url.user == nil)
        #expect(url.password == nil)
        #expect(url.description == "redis://127.0.0.1:6379/0")
    }

    @Test func readsPasswordWithoutUser() throws {
        let url = try RedisURL(parsing: "redis://:secret@127.0.0.1:6390/0")
        #expect(url.user == nil)
        #expect(url.password == "secret")
        #expect(url.description == "redis://:***@127.0.0.1:6390/0")
    }

    @Test func parsesIPv6Host() throws {
        let url = try RedisURL(parsing: "redis://[::1]:6390/2")
        #expect(url.host == "::1")
        #expect(url.port == 6390)
        #expect(url.description == "redis://[::1]:6390/2")
    }

    @Test(arguments: [
        ("http://127.0.0.1:6379/0", "scheme 'http' is not redis"),
        ("rediss://127.0.0.1:6379/0", "TLS is not supported"),
        ("127.0.0.1:6379", "no scheme"),
        ("redis://127.0.0.1:99999/0", "port '99999'"),
        ("redis://127.0.0.1:port/0", "port 'port'"),
        ("redis://127.0.0.1:6379/x", "database 'x'"),
        ("redis://127.0.0.1:6379/-1", "database '-1'"),
        ("redis://:6379/0", "host is empty"),
        ("redis://127.0.0.1:6379/0?timeout=1", "query options"),
        ("redis://user:%zz@127.0.0.1/0", "percent escape"),
        ("redis://loneuser@127.0.0.1/0", "has no ':'"),
    ])
    func rejectsInvalidURL(text: String, reason: String) {
        #expect {
            _ = try RedisURL(parsing: text)
        } throws: { error in
            guard let error = error as? RedisError else { return false }
            return error.kind == .invalidURL && error.message.contains(reason)
        }
    }

    @Test func errorsNeverShowThePassword() {
        do {
            _ = try RedisURL(parsing: "redis://admin:hunter2@127.0.0.1:70000/0")
            Issue.record("an out-of-range port was accepted")
        } catch {
            #expect(!error.message.contains("hunter2"))
            #expect(error.message.contains("redis://admin:***@127.0.0.1:70000/0"))
        }
    }

    @Test func redactsLoneUserInfo() {
        #expect(RedisURL.redacted("redis://hunter2@127.0.0.1/0") == "redis://***@127.0.0.1/0")
        #expect(RedisURL.redacted("redis://127.0.0.1/0") == "redis://127.0.0.1/0")
    }
}

/// Redis's own messages end in a period, a question mark or nothing; the
/// error text adds a period only where one is missing.
@Suite struct RedisMessageSentenceTests {
    @Test(arguments: [
        ("Connection refused", "Connection refused."),
        ("invalid username-password pair.", "invalid username-password pair."),
        ("Are you sure your configuration is correct?", "Are you sure your configuration is correct?"),
        ("DB index is out of range ", "DB index is out of range."),
    ])
    func messageEndsInOneMark(message: String, sentence: String) {
        #expect(RedisConnection.asSentence(message) == sentence)
    }
}
