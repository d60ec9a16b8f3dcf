// upper.rs - the uppercase server (SPEC.md) the way a Rust developer writes it with std alone: a
// TcpListener and a thread per connection, one UdpSocket served by its own thread, both on one port.
//
// usage: upper [--naive] [PORT]   (default $PORT or 8082; 0 picks a free port; binds $HOST or
// 127.0.0.1). The first lines printed are "listening on tcp|udp ADDR:PORT".
//
// --naive swaps in the line newcomers write, String::from_utf8_lossy(..).to_uppercase(): Unicode
// uppercasing (e-acute, sharp s to "SS"), and bytes that are not UTF-8 (or a character split between
// two reads) become U+FFFD. ci/expected-failures/rust-naive.txt lists what conform fails it for.
use std::env;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, UdpSocket};
use std::process;
use std::thread;

// SPEC X1: only the bytes a-z change; to_ascii_uppercase leaves every other byte as it is.
fn upper(data: &[u8]) -> Vec<u8> {
    data.to_ascii_uppercase()
}

// NAIVE (--naive): what newcomers write; wrong for every byte that is not ASCII.
fn naive_upper(data: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(data).to_uppercase().into_bytes()
}

// One connection: write_all blocks while the client does not read, so reading stops too (T8); after
// the client's FIN our side is shut down (T4); an error (a reset) ends this thread only (T6).
fn serve(mut stream: TcpStream, transform: fn(&[u8]) -> Vec<u8>) {
    let mut buf = [0u8; 32 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => {
                let _ = stream.shutdown(Shutdown::Write);
                return;
            }
            Ok(n) => {
                if stream.write_all(&transform(&buf[..n])).is_err() {
                    return;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        }
    }
}

fn serve_udp(socket: UdpSocket, transform: fn(&[u8]) -> Vec<u8>) {
    let mut buf = vec![0u8; 65535];
    loop {
        if let Ok((n, from)) = socket.recv_from(&mut buf) {
            let _ = socket.send_to(&transform(&buf[..n]), from); // a vanished sender is no error of ours
        }
    }
}

fn fail(what: &str) -> ! {
    eprintln!("upper: {}", what);
    process::exit(1);
}

fn main() {
    let mut args: Vec<String> = env::args().skip(1).collect();
    if args.first().map_or(false, |a| a == "-h" || a == "--help") {
        println!("usage: upper [--naive] [PORT]   (default $PORT or 8082; 0: a free port)");
        return;
    }
    let mut transform: fn(&[u8]) -> Vec<u8> = upper;
    if args.first().map_or(false, |a| a == "--naive") {
        transform = naive_upper;
        args.remove(0);
    }
    let text = args.first().cloned().or_else(|| env::var("PORT").ok()).unwrap_or_else(|| "8082".into());
    let port: u16 = text.parse().unwrap_or_else(|_| {
        eprintln!("upper: port '{}' is not a number", text);
        process::exit(2)
    });
    let host = env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let listener = TcpListener::bind((host.as_str(), port)).unwrap_or_else(|e| fail(&e.to_string()));
    let port = listener.local_addr().unwrap_or_else(|e| fail(&e.to_string())).port();
    let udp = UdpSocket::bind((host.as_str(), port)).unwrap_or_else(|e| fail(&e.to_string()));
    println!("listening on tcp {}:{}\nlistening on udp {}:{}", host, port, host, port);
    thread::spawn(move || serve_udp(udp, transform));
    for stream in listener.incoming() {
        // an error here is one failed accept (out of descriptors for a moment): keep accepting
        if let Ok(stream) = stream {
            thread::spawn(move || serve(stream, transform));
        }
    }
}
