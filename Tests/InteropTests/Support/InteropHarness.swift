import Engine
import Foundation
import TestSupport

/// Paths of the Python interop harness in `Tests/Interop` and of the tools
/// these tests start.
enum InteropHarness {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    static let folder = root + "/Tests/Interop"
    static let python = root + "/.venv/bin/python"
    static let scripts = folder + "/scripts"
    static let project = folder + "/project"
    /// The events every producer check dispatches: five events, four dispatches.
    static let events = folder + "/events/producer-check.jsonl"
    /// The configuration matching the project's restflow rules, before a test picks dispatchers.
    static let configuration = folder + "/dispatchtop-config.json"

    /// The Django `SECRET_KEY` and `Q_CLUSTER["name"]` the project uses by default.
    static let secretKey = "dispatchtop-interop-secret-key"
    static let djangoQName = "interop"

    /// The cache key prefix the project gives Django's cache.
    static let cacheKeyPrefix = "interop"

    /// Checks that the tools exist and the virtual environment is built; run
    /// before starting anything.
    /// - Throws: ``InteropSetupError`` saying what to install.
    static func requireTools() throws {
        for tool in ["redis-server", "python3"] where executablePath(tool) == nil {
            throw InteropSetupError(
                "'\(tool)' is not on PATH. Install it (apt-get install redis-server python3 python3-venv), "
                    + "or run scripts/test, which installs everything the tests need.")
        }
        try PythonEnvironment.prepared.get()
    }

    /// Starts a private redis-server.
    /// - Throws: ``InteropSetupError`` saying what to install when redis-server is missing.
    static func startRedis(password: String? = nil) throws -> RedisServer {
        guard executablePath("redis-server") != nil else {
            throw InteropSetupError(
                "'redis-server' is not on PATH. Install it (apt-get install redis-server), "
                    + "or run scripts/test, which installs everything the tests need.")
        }
        do {
            return try RedisServer(password: password)
        } catch {
            throw InteropSetupError("Cannot start redis-server: \(error)")
        }
    }

    /// Returns the full path of `name` found on PATH, or nil.
    static func executablePath(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for folder in path.split(separator: ":") {
            let candidate = "\(folder)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}

/// The Python virtual environment in `.venv`, built by `scripts/python-env`
/// at most once per test process and shared by every suite.
enum PythonEnvironment {
    /// The outcome of the one `scripts/python-env` run; a static `let` is
    /// initialised once even when suites ask for it concurrently.
    static let prepared: Result<Void, InteropSetupError> = {
        let result: ProcessRunner.Completed
        do {
            result = try ProcessRunner.run(["/bin/bash", InteropHarness.root + "/scripts/python-env"], timeout: 900)
        } catch {
            return .failure(InteropSetupError("Cannot run scripts/python-env: \(error)."))
        }
        guard result.status == 0 else {
            return .failure(
                InteropSetupError(
                    "scripts/python-env exited with status \(result.status). Install what it names below "
                        + "(scripts/test installs python3-venv and redis-server), then run the tests again.\n"
                        + result.stdout + result.stderr))
        }
        return .success(())
    }()
}

/// A missing tool or a harness step that failed, with what to do about it.
struct InteropSetupError: Error, CustomStringConvertible {
    var message: String

    init(_ message: String) {
        self.message = message
    }

    var description: String { message }
}

/// What the harness's events must do to the project's cache and broker.
///
/// Of the fifteen entries `fill_cache.py` writes, the producer-check events
/// leave five in place and drop the other ten.
enum HarnessExpectations {
    static let survivingKeys: Set<String> = [
        "interop:1:shop::shop.views.product_detail::product_id:3::",
        "interop:1:shop::shop.views.category_listing::category_id:40::page:1",
        "interop:1:shop::shop.views.category_listing::category_id:40::page:2",
        "interop:2:shop.views.regional_prices::category_id:20::region:eu::",
        "interop:2:shop.views.regional_prices::category_id:20::region:us::",
    ]
    static let filledKeyCount = 15

    /// The restflow rule ids of the four dispatches, in event order; event 4 dispatches nothing.
    static let restflowRuleIDs: [[Int64]] = [[1, 2, 4], [1, 2], [3], [5]]

    /// The stable rule ids of the same dispatches, as dispatchtop prints them.
    static let ruleIDs: [[String]] = [
        ["product-detail-on-product", "category-listing-on-product", "regional-prices-on-product"],
        ["product-detail-on-product", "category-listing-on-product"],
        ["category-listing-on-category"],
        ["supplier-feed-on-supplier"],
    ]

    /// The error text of the failing rule 5, which every worker records.
    static let failureText = "supplier feed 7 is unavailable"
}
