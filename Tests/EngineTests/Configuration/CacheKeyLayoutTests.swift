import Testing

@testable import Engine

/// Storage keys compared with what restflow 2.0.1 and Django 5.2 write.
///
/// Every expected string below was produced by restflow 2.0.1's key
/// constructor under Django 5.2.19 with `KEY_PREFIX = "site"`: a
/// `KeyConstructor` subclass with one `ArgsKeyField(name, partition=...)`
/// per argument (the attribute named after the argument), the function
/// given a dotted `__module__`, and `cache_result` around it. Prefixes are
/// the pattern `delete_by_prefix(**arguments)` handed to the backend's
/// `delete_pattern`, less its trailing `*`; keys are
/// `cache.make_key(get_cache_key(**arguments), version)`.
@Suite struct CacheKeyLayoutTests {
    static let context = CacheContext(store: MemoryCacheStore(), keyPrefix: "site")

    /// `shop.views.product_detail(product_id, lang)`, partitioned on `product_id`.
    static let detail = CachedFunction(name: "shop.views.product_detail", key: CacheKeyLayout(partition: ["product_id"]))

    /// `shop.views.listing(team, owner, page)` in namespace `api`, version 3,
    /// partitioned on `team` and `owner` (declared in that order).
    static let listing = CachedFunction(
        name: "shop.views.listing", key: CacheKeyLayout(namespace: "api", version: 3, partition: ["team", "owner"]))

    /// `shop.views.values(v)`, partitioned on `v`.
    static let values = CachedFunction(name: "shop.views.values", key: CacheKeyLayout(partition: ["v"]))

    // MARK: - Prefixes and keys

    @Test func partitionPrefix() {
        let prefix = Self.context.storagePrefix(of: Self.detail, arguments: object(("product_id", 7)))
        #expect(prefix == "site:1:shop.views.product_detail::product_id:7::")
    }

    @Test func fullKeyAppendsTheOtherArguments() {
        let key = Self.context.storageKey(of: Self.detail, arguments: object(("product_id", 7), ("lang", "en")))
        #expect(key == "site:1:shop.views.product_detail::product_id:7::lang:en")
    }

    @Test func prefixWithoutArgumentsCoversTheFunction() {
        let prefix = Self.context.storagePrefix(of: Self.detail, arguments: JSONObject())
        #expect(prefix == "site:1:shop.views.product_detail::")
    }

    @Test func partitionsAreSortedByName() {
        let prefix = Self.context.storagePrefix(of: Self.listing, arguments: object(("team", 1), ("owner", 2)))
        #expect(prefix == "site:3:api::shop.views.listing::owner:2::team:1::")
    }

    @Test func absentLastPartitionIsStripped() {
        let prefix = Self.context.storagePrefix(of: Self.listing, arguments: object(("owner", 2)))
        #expect(prefix == "site:3:api::shop.views.listing::owner:2::")
    }

    @Test func absentFirstPartitionLeavesAnEmptyPiece() {
        let prefix = Self.context.storagePrefix(of: Self.listing, arguments: object(("team", 1)))
        #expect(prefix == "site:3:api::shop.views.listing::::team:1::")
    }

    @Test func noPartitionArgumentsLeaveNoScope() {
        let prefix = Self.context.storagePrefix(of: Self.listing, arguments: JSONObject())
        #expect(prefix == "site:3:api::shop.views.listing::")
    }

    @Test func fullKeyWithTwoPartitions() {
        let key = Self.context.storageKey(of: Self.listing, arguments: object(("team", 1), ("owner", 2), ("page", 3)))
        #expect(key == "site:3:api::shop.views.listing::owner:2::team:1::page:3")
    }

    @Test func identifierReplacesTheFunctionName() {
        let function = CachedFunction(name: "shop.views.other", key: CacheKeyLayout(partition: ["user_id"], identifier: "users"))
        let prefix = Self.context.storagePrefix(of: function, arguments: object(("user_id", 5)))
        #expect(prefix == "site:1:users::user_id:5::")
    }

    // MARK: - Values

    /// Argument values and restflow's text for them.
    @Test(arguments: [
        (JSONValue.null, "site:1:shop.views.values::v:null::"),
        (.bool(true), "site:1:shop.views.values::v:True::"),
        (.bool(false), "site:1:shop.views.values::v:False::"),
        (.int(42), "site:1:shop.views.values::v:42::"),
        (.int(-3), "site:1:shop.views.values::v:-3::"),
        (.double(1.0), "site:1:shop.views.values::v:1.0::"),
        (.double(2.5), "site:1:shop.views.values::v:2.5::"),
        (.double(1e-05), "site:1:shop.views.values::v:1e-05::"),
        (.double(0.0001), "site:1:shop.views.values::v:0.0001::"),
        (.double(0.000123), "site:1:shop.views.values::v:0.000123::"),
        (.double(0.00009876), "site:1:shop.views.values::v:9.876e-05::"),
        (.double(1e16), "site:1:shop.views.values::v:1e+16::"),
        (.double(9.5e15), "site:1:shop.views.values::v:9500000000000000.0::"),
        (.double(1e15), "site:1:shop.views.values::v:1000000000000000.0::"),
        (.double(1e22), "site:1:shop.views.values::v:1e+22::"),
        (.double(-0.0), "site:1:shop.views.values::v:-0.0::"),
        (.double(0.1 + 0.2), "site:1:shop.views.values::v:0.30000000000000004::"),
        (.double(1.2345678901234568e+17), "site:1:shop.views.values::v:1.2345678901234568e+17::"),
        (.double(.leastNonzeroMagnitude), "site:1:shop.views.values::v:5e-324::"),
        (.string("a b::c"), "site:1:shop.views.values::v:a b::c::"),
        (.string("café"), "site:1:shop.views.values::v:café::"),
        (.array([3, 1, 2]), "site:1:shop.views.values::v:3,1,2::"),
        (.array([.array([1, 2]), .array([3])]), "site:1:shop.views.values::v:1,2,3::"),
        (.array([true, nil, 1.5, "x"]), "site:1:shop.views.values::v:True,null,1.5,x::"),
        (.object(JSONObject([("b", 2), ("a", 1)])), "site:1:shop.views.values::v:a:1||b:2::"),
        (
            .object(JSONObject([("z", .object(JSONObject([("y", 1), ("x", .array([2, 1]))]))), ("a", nil)])),
            "site:1:shop.views.values::v:a:null||z:x:2,1||y:1::"
        ),
        (.array([]), "site:1:shop.views.values::v:::"),
        (.object(JSONObject()), "site:1:shop.views.values::v:::"),
    ])
    func valueText(value: JSONValue, expected: String) {
        let prefix = Self.context.storagePrefix(of: Self.values, arguments: object(("v", value)))
        #expect(prefix == expected)
    }

    /// Floats between 2^53 and 1e16, where Swift's `description` switches to
    /// exponent form but Python's `repr` does not; Python's text verified
    /// with `repr()` under CPython 3.11.
    @Test(arguments: [
        (9_007_199_254_740_992.0, "9007199254740992.0"),
        (9_007_199_254_740_994.0, "9007199254740994.0"),
        (9_999_999_999_999_998.0, "9999999999999998.0"),
        (-9_500_000_000_000_000.0, "-9500000000000000.0"),
    ])
    func floatNearTwoToThe53(number: Double, expected: String) {
        #expect(RestflowKeyText.pythonFloat(number) == expected)
    }

    @Test func djangoKeyJoinsPrefixVersionAndKey() {
        #expect(DjangoCacheKey.make(prefix: "", version: 2, key: "f::") == ":2:f::")
        #expect(DjangoCacheKey.make(prefix: "site", version: 1, key: "f::") == "site:1:f::")
    }
}
