// upper.go - the uppercase server (SPEC.md) the way a Go developer writes it: net.Listen and a
// goroutine per connection, one UDP socket read in its own goroutine, both on one port.
//
// usage: upper [--naive] [PORT]   (default $PORT or 8082; 0 picks a free port; binds $HOST or
// 127.0.0.1). The first lines printed are "listening on tcp|udp ADDR:PORT".
//
// --naive swaps in the line newcomers write, strings.ToUpper(string(buf)): Unicode uppercasing
// (e-acute, sharp s to "SS"), and bytes that are not UTF-8 become U+FFFD, three bytes each.
// bytes.ToUpper is the same mistake. ci/expected-failures/go-naive.txt lists what conform fails it for.
package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
)

// upper is SPEC X1: only the bytes a-z change, in place.
func upper(b []byte) []byte {
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
	return b
}

// naiveUpper is what newcomers write (--naive): wrong for every byte that is not ASCII.
func naiveUpper(b []byte) []byte {
	return []byte(strings.ToUpper(string(b)))
}

var transform = upper

// serve answers one connection until the client's FIN, then closes our side (T4). Write blocks while
// the client does not read, so reading stops too (T8); an error (a reset) ends this connection only.
func serve(conn *net.TCPConn) {
	defer conn.Close()
	buf := make([]byte, 32*1024)
	for {
		n, err := conn.Read(buf)
		if n > 0 {
			if _, werr := conn.Write(transform(buf[:n])); werr != nil {
				return
			}
		}
		if errors.Is(err, io.EOF) {
			conn.CloseWrite()
			return
		}
		if err != nil {
			return
		}
	}
}

func serveUDP(pc net.PacketConn) {
	buf := make([]byte, 65535)
	for {
		n, addr, err := pc.ReadFrom(buf)
		if err != nil {
			continue
		}
		pc.WriteTo(transform(buf[:n]), addr) // a vanished sender is no error of ours
	}
}

func main() {
	args := os.Args[1:]
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Println("usage: upper [--naive] [PORT]   (default $PORT or 8082; 0: a free port)")
		return
	}
	if len(args) > 0 && args[0] == "--naive" {
		transform = naiveUpper
		args = args[1:]
	}
	text := os.Getenv("PORT")
	if len(args) > 0 {
		text = args[0]
	} else if text == "" {
		text = "8082"
	}
	port, err := strconv.Atoi(text)
	if err != nil {
		fmt.Fprintf(os.Stderr, "upper: port '%s' is not a number\n", text)
		os.Exit(2)
	}
	host := os.Getenv("HOST")
	if host == "" {
		host = "127.0.0.1"
	}
	ln, err := net.Listen("tcp4", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		fmt.Fprintf(os.Stderr, "upper: %v\n", err)
		os.Exit(1)
	}
	port = ln.Addr().(*net.TCPAddr).Port
	pc, err := net.ListenPacket("udp4", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		fmt.Fprintf(os.Stderr, "upper: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("listening on tcp %s:%d\nlistening on udp %s:%d\n", host, port, host, port)
	go serveUDP(pc)
	for {
		conn, err := ln.Accept()
		if err != nil {
			continue // out of descriptors for a moment: Accept again
		}
		go serve(conn.(*net.TCPConn))
	}
}
