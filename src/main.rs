fn main() {
    // `spoor leads CASE | head`: a closed stdout ends the program quietly, as for any Unix
    // tool, instead of a panic message (std's print! panics on a broken pipe).
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let text = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if text.contains("Broken pipe") {
            std::process::exit(141);
        }
        default_hook(info);
    }));
    std::process::exit(spoor::cli::main());
}
