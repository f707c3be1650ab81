fn main() {
    std::process::exit(spoor::cli::main());
}
