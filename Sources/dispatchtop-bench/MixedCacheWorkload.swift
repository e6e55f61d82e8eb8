import Brokers
import Engine
import Foundation

/// A Redis cache holding the entries of several functions in restflow's
/// layout, with other keys beside them, for the drop benchmark whose
/// prefixes differ early.
///
/// In the uniform workload every rule's prefix has the same shape, so one
/// SCAN pattern is tight. Here a pass's prefixes part after `site:`
/// (namespaced or not, version 1 or 2, six functions), so the pattern lets
/// most keys through and every one of them is tested on this side.
enum MixedCacheWorkload {
    static let keyPrefix = "site"
    static let products = 600
    static let categories = 100
    static let homePages = 300
    static let slugs = 200
    static let otherKeys = 2_500

    /// Six functions on `shop.Product`, every rule on the thread pool, batched.
    static func configuration() throws -> EngineConfiguration {
        func function(_ name: String, namespace: String?, version: Int, partition: [String], mapping: [String: String]) -> String {
            let namespaceMember = namespace.map { "\"namespace\": \"\($0)\", " } ?? ""
            let partitionList = partition.map { "\"\($0)\"" }.joined(separator: ", ")
            let mappingMembers = mapping.map { "\"\($0.key)\": \"\($0.value)\"" }.joined(separator: ", ")
            return """
                {"name": "\(name)", "key": {\(namespaceMember)"version": \(version), "partition": [\(partitionList)]},
                 "rules": [{"id": "\(name)-on-product", "model": "shop.Product", "field_mapping": {\(mappingMembers)},
                            "dispatcher": "threadpool", "batch": true}]}
                """
        }
        let functions = [
            function("shop.views.product_detail", namespace: "shop", version: 1, partition: ["product_id"], mapping: ["product_id": "id"]),
            function("shop.views.product_list", namespace: "shop", version: 1, partition: ["category_id"], mapping: ["category_id": "category.id"]),
            function("shop.views.home", namespace: "shop", version: 1, partition: [], mapping: [:]),
            function("api.price_history", namespace: nil, version: 1, partition: ["product_id"], mapping: ["product_id": "id"]),
            function("shop.views.product_v2", namespace: "shop", version: 2, partition: ["product_id"], mapping: ["product_id": "id"]),
            function("shop.views.by_slug", namespace: "shop", version: 1, partition: ["slug"], mapping: ["slug": "slug"]),
        ]
        return try ConfigurationLoader.parse("""
            {"settings": {"cache_key_prefix": "\(keyPrefix)", "dispatchers": {"threadpool": {"max_workers": 4}}},
             "functions": [\(functions.joined(separator: ","))]}
            """)
    }

    /// Returns every key of the cache. Some only look like an entry of a
    /// function: another version, namespace or key prefix, or a function
    /// whose name starts with another's.
    static func keys() -> [String] {
        var keys: [String] = []
        func entry(_ version: Int, _ namespace: String?, _ function: String, _ rest: String, prefix: String = keyPrefix) {
            keys.append("\(prefix):\(version):" + (namespace.map { "\($0)::" } ?? "") + "\(function)::\(rest)")
        }
        for product in 1...products {
            for rest in ["lang:en", "lang:de", "format:json||page:2"] {
                entry(1, "shop", "shop.views.product_detail", "product_id:\(product)::\(rest)")
            }
            entry(1, nil, "shop.views.product_detail", "product_id:\(product)::lang:en")
            entry(1, "shop", "shop.views.product_detail", "product_id:\(product)::lang:en", prefix: "")
            for days in [7, 30] { entry(1, nil, "api.price_history", "product_id:\(product)::days:\(days)") }
            entry(2, "shop", "shop.views.product_v2", "product_id:\(product)::x:1")
            entry(1, "shop", "shop.views.product_v2", "product_id:\(product)::x:1")
        }
        for category in 1...categories {
            for page in 1...20 { entry(1, "shop", "shop.views.product_list", "category_id:\(category)::page:\(page)") }
        }
        for page in 0..<homePages {
            entry(1, "shop", "shop.views.home", "page:\(page)")
            entry(1, "shop", "shop.views.home2", "page:\(page)")
        }
        for slug in 0..<slugs {
            for rest in ["", "page:1", "page:2"] { entry(1, "shop", "shop.views.by_slug", rest.isEmpty ? "slug:s\(slug)" : "slug:s\(slug)::\(rest)") }
        }
        for other in 0..<otherKeys { keys.append("session:\(other)") }
        return keys
    }

    /// `count` saves of random products, the same each run, and the
    /// prefixes their rules drop.
    static func events(count: Int) -> (events: [ChangeEvent], prefixes: Set<String>) {
        var generator = SeededGenerator(seed: 7)
        var events: [ChangeEvent] = []
        var prefixes: Set<String> = ["\(keyPrefix):1:shop::shop.views.home::"]
        for _ in 0..<count {
            let product = Int64.random(in: 1...Int64(products), using: &generator)
            let category = Int64.random(in: 1...Int64(categories), using: &generator)
            let slug = "s\(Int.random(in: 0..<slugs, using: &generator))"
            var fields = JSONObject()
            fields.appendUnchecked("id", .int(product))
            fields.appendUnchecked("category", .object(JSONObject([("id", .int(category))])))
            fields.appendUnchecked("slug", .string(slug))
            events.append(ChangeEvent(model: "shop.Product", pk: .int(product), signal: .postSave, fields: fields))
            prefixes.insert("\(keyPrefix):1:shop::shop.views.product_detail::product_id:\(product)::")
            prefixes.insert("\(keyPrefix):1:shop::shop.views.product_list::category_id:\(category)::")
            prefixes.insert("\(keyPrefix):1:api.price_history::product_id:\(product)::")
            prefixes.insert("\(keyPrefix):2:shop::shop.views.product_v2::product_id:\(product)::")
            prefixes.insert("\(keyPrefix):1:shop::shop.views.by_slug::slug:\(slug)::")
        }
        return (events, prefixes)
    }
}
