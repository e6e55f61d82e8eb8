import Foundation

// stdout is block-buffered when it is a pipe. The commands write through
// their own buffers and flush them before returning, so exit() loses nothing.
exit(CommandRouter.main(Array(CommandLine.arguments.dropFirst())))
