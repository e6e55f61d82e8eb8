/// Help for every command, in one place.
enum HelpText {
    static let main = """
        dispatchtop: a cache-invalidation dispatch engine and its console.

        Usage:
          dispatchtop                        open the console on the built-in demo
          dispatchtop --config FILE [--events FILE|-] [--follow] [--broker URL] [--cache URL]
                      [--journal PATH] [--write] [-d TENTHS] [--no-color] [--ascii]
                                             open the console on real input
          dispatchtop --once [--format json|text] [--after SECONDS] [--max-failures N]
                      [--max-depth N] [--events FILE|-] [--rate N] [--write] [shared options]
                                             print one snapshot of the state and exit (--once --help
                                             describes its options and exit status 3)
          dispatchtop run --config FILE --events FILE|- [--timeout SECONDS] [shared options]
                                             evaluate events and print every dispatch as JSON Lines
          dispatchtop check --config FILE    validate a configuration and print what it registers
          dispatchtop dispatchers [--config FILE]
                                             list the registered dispatchers with their settings
          dispatchtop replay --journal PATH --config FILE (--all | --id N[,N...]) [--force]
                                             replay journalled failures
          dispatchtop generate [--config FILE] [--count N] [--seed N] [--key-space N]
                                             write demo events as JSON Lines
          dispatchtop COMMAND --help         help for one command

        Console options:
          --events FILE|-    JSON Lines events; - reads standard input
          --follow           keep reading lines appended to --events FILE, like tail -f
          --rate N           demo events per second (40); the demo generator runs only on the bundled
                             demo configuration, and with a Redis broker only with --write
          --write            allow writes to a real broker: trigger, replay, requeue
          -d TENTHS          refresh delay in tenths of a second (10)
          --no-color         no colours (also when NO_COLOR is set)
          --ascii            ASCII instead of box drawing and sparklines
          Press ? in the console for its keys.

        Shared options:
          --config FILE      configuration (JSON); the bundled demo when left out
          --broker URL       redis://[user:password@]host:port/db; the embedded broker when left out
          --cache URL        redis://...; the embedded memory cache when left out
          --journal PATH     failure journal (SQLite); a temporary folder when left out
          --log FILE         log file; beside the journal when left out
          --log-level LEVEL  trace, debug, info (default), notice, warning or error
        """

    static let run = """
        Usage: dispatchtop run --config FILE --events FILE|- [--journal PATH] [--broker URL] [--cache URL]
                               [--timeout SECONDS] [--log FILE] [--log-level LEVEL]

        Evaluates every event, waits until all dispatched work has finished, and prints one JSON object per
        dispatch call on standard output, in dispatch order, with: seq, event (0-based index of the event),
        batch, dispatcher, model, pk, signal, rule_ids (stable ids, in rule order), rule_kwargs (keyed by
        rule id), outcome (done, failed, or sent for an external broker) and error.
        With a Redis broker, outcome is "sent", or "outbox" when Redis was unreachable: such batches wait
        in the journal's outbox, and run waits up to --timeout for them to be sent once Redis is back.
        A malformed event line is reported on standard error with its line number and skipped.
        A summary goes to standard error. Exit status: 0 when it ran (failed batches included),
        1 when reading the events fails, or work (or the outbox) did not finish within --timeout
        seconds after the last event (default 600), 2 for a usage or configuration error (an --events
        path that does not exist or is a folder included) or when the --broker or --cache Redis cannot
        be used at start (not running, credentials, database index).
        """

    static let check = """
        Usage: dispatchtop check --config FILE

        Validates the configuration (types, unknown keys, dispatcher names and options, invalidators,
        recomputers) and prints the functions, rules and dispatchers it registers.
        Exit status 0 when valid, 2 when not.
        """

    static let dispatchers = """
        Usage: dispatchtop dispatchers [--config FILE]

        Lists every registered dispatcher with where it runs, whether it batches, and its settings block
        merged with defaults (from --config, or the bundled demo configuration).
        """

    static let replay = """
        Usage: dispatchtop replay --journal PATH --config FILE (--all | --id N[,N...]) [--force]
                                  [--dispatcher NAME] [--filter-dispatcher NAME] [--filter-model LABEL]
                                  [--rate PER_SECOND] [--timeout SECONDS] [--broker URL] [--cache URL] [--write]

        Replays journalled failures through their dispatcher (or --dispatcher NAME), with their original
        options; broker batches send their stored payload byte for byte. Entries already resolved are
        skipped unless --force. Entries whose rules are gone from, or changed in, the configuration are
        skipped and counted. --config must be the configuration the failures were journalled under, and
        --cache and --broker the ones they failed with: entries that failed with others are skipped.
        Replaying onto a Redis broker needs --write; without it, entries of broker dispatchers are
        skipped with that reason. Batches waiting in the journal's outbox after an outage are sent too,
        and replay waits up to --timeout for them. --rate limits entries per second (200), --timeout the
        wait for each entry's outcome (30 s). --id takes journal ids separated by commas and may be
        repeated. Prints one line per entry and a closing count.
        Exit status 0 when every entry was replayed successfully or skipped because it was resolved or its
        rules changed; 1 when any failed, was skipped for want of --write, for another cache store or
        broker, or because the --dispatcher given cannot run its rules, when a requested --id is not in
        the journal, or when batches still wait in the outbox; 2 for usage errors.
        """

    static let console = """
        Usage: dispatchtop [--config FILE] [--events FILE|-] [--follow] [--rate N] [--broker URL] [--cache URL]
                           [--journal PATH] [--write] [-d TENTHS] [--no-color] [--ascii] [--log FILE]

        Opens the console. With no --config it runs the bundled demo configuration with the demo event
        generator (--rate events per second, 40 by default). -d sets the refresh delay in tenths of a
        second (default 5). Press ? in the console for its keys.
        """

    static let once = """
        Usage: dispatchtop --once [--format json|text] [--after SECONDS] [--max-failures N] [--max-depth N]
                                  [--config FILE] [--events FILE|-] [--rate N] [--broker URL] [--cache URL]
                                  [--journal PATH] [--write] [--follow] [--log FILE] [--log-level LEVEL]

        Runs the engine for --after seconds (default 2; with --events, until the file is read), then prints
        one snapshot of the state and exits. Exit status 0, or 3 when a threshold is crossed: more than
        --max-failures open failures in the journal (failures a broker keeps, such as RQ's failed
        registry, are not counted), or a queue deeper than --max-depth (ready plus delayed messages) or
        whose depth cannot be read.
        """
}
