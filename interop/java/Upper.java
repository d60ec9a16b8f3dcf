// Upper.java - the uppercase server (SPEC.md) the way a Java developer writes it: a ServerSocket whose
// connections are served by a thread pool on blocking streams, and a DatagramSocket, both on one port.
//
// usage: java -cp DIR Upper [--naive] [PORT]   (default $PORT or 8082; 0 picks a free port; binds
// $HOST or 127.0.0.1). The first lines printed are "listening on tcp|udp ADDR:PORT".
//
// --naive swaps in the line newcomers write, new String(bytes).toUpperCase().getBytes(): the bytes are
// decoded with the platform charset (UTF-8, or US-ASCII under LANG=C: bytes that do not fit become
// U+FFFD, then '?') and uppercased by the default locale (e-acute, sharp s to "SS"; under a Turkish
// locale even 'i' becomes U+0130). ci/expected-failures/java-naive.txt lists what conform fails it for.
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Arrays;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

public final class Upper {
    /** SPEC X1: only the bytes a-z change, in place; no charset, no locale. */
    static int upper(byte[] buf, int n) {
        for (int i = 0; i < n; i++) {
            if (buf[i] >= 'a' && buf[i] <= 'z') {
                buf[i] -= 'a' - 'A';
            }
        }
        return n;
    }

    /** NAIVE (--naive): what newcomers write; wrong for every byte that is not ASCII. */
    static byte[] naiveUpper(byte[] buf, int n) {
        return new String(buf, 0, n).toUpperCase().getBytes();
    }

    static boolean naive;

    /**
     * One connection: write() blocks while the client does not read, so reading stops too (T8); after
     * the client's FIN our side is shut down (T4); an IOException (a reset) ends this connection only.
     */
    static void serve(Socket socket) {
        try (socket) {
            InputStream in = socket.getInputStream();
            OutputStream out = socket.getOutputStream();
            byte[] buf = new byte[16 * 1024];
            int n;
            while ((n = in.read(buf)) > 0) {
                if (naive) {
                    out.write(naiveUpper(buf, n));
                } else {
                    out.write(buf, 0, upper(buf, n)); // in place: no garbage per read
                }
            }
            socket.shutdownOutput();
        } catch (IOException e) {
            // a reset or a broken pipe: that connection only
        }
    }

    static void serveUdp(DatagramSocket socket) {
        byte[] buf = new byte[65535];
        while (true) {
            DatagramPacket packet = new DatagramPacket(buf, buf.length);
            try {
                socket.receive(packet);
                int n = packet.getLength();
                byte[] reply = naive ? naiveUpper(buf, n) : Arrays.copyOf(buf, upper(buf, n));
                socket.send(new DatagramPacket(reply, reply.length, packet.getSocketAddress()));
            } catch (IOException e) {
                // a vanished sender is no error of ours
            }
        }
    }

    public static void main(String[] args) throws IOException {
        int a = 0;
        if (args.length > 0 && (args[0].equals("-h") || args[0].equals("--help"))) {
            System.out.println("usage: java -cp DIR Upper [--naive] [PORT]   (default $PORT or 8082; 0: a free port)");
            return;
        }
        if (args.length > a && args[a].equals("--naive")) {
            naive = true;
            a++;
        }
        String text = args.length > a ? args[a] : System.getenv().getOrDefault("PORT", "8082");
        int port;
        try {
            port = Integer.parseInt(text);
        } catch (NumberFormatException e) {
            System.err.println("Upper: port '" + text + "' is not a number");
            System.exit(2);
            return;
        }
        String host = System.getenv().getOrDefault("HOST", "127.0.0.1");
        InetAddress address = InetAddress.getByName(host);
        // backlog 1024, not the default 50: a burst of connection attempts is accepted (T9)
        ServerSocket listener = new ServerSocket(port, 1024, address);
        port = listener.getLocalPort();
        DatagramSocket udp = new DatagramSocket(new InetSocketAddress(address, port));
        System.out.println("listening on tcp " + host + ":" + port);
        System.out.println("listening on udp " + host + ":" + port);
        System.out.flush();
        Thread udpThread = new Thread(() -> serveUdp(udp));
        udpThread.setDaemon(true);
        udpThread.start();
        // a cached pool: a thread per open connection, reused once it is free (a fixed pool would stall
        // the connections beyond its size, T7 and T9)
        ExecutorService pool = Executors.newCachedThreadPool();
        while (true) {
            try {
                Socket socket = listener.accept();
                pool.execute(() -> serve(socket));
            } catch (IOException e) {
                // out of descriptors for a moment: accept again
            }
        }
    }
}
