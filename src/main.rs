//! The command line: `serve`, and `webservice add|list|remove`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match xivo_confd::cli::run(&args) {
        Ok(()) => {}
        Err(message) => {
            eprintln!("xivo-confd: {message}");
            std::process::exit(2);
        }
    }
}
