//! Without a reachable `DATABASE_URL`, tests run on a private cluster of their own.

use tokio_postgres::NoTls;

#[tokio::test]
async fn an_unreachable_database_url_falls_back_to_a_private_cluster_that_accepts_connections() {
    let free_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = testkit::Server::resolve(Some(&format!(
        "postgres://postgres@127.0.0.1:{free_port}/x"
    )));
    assert_ne!(
        server.admin_url(),
        format!("postgres://postgres@127.0.0.1:{free_port}/x")
    );
    assert!(testkit::cluster::shared().is_running());
    let (client, connection) = tokio_postgres::connect(server.admin_url(), NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let fsync: String = client.query_one("SHOW fsync", &[]).await.unwrap().get(0);
    assert_eq!(fsync, "off", "a throwaway cluster for tests skips fsync");
    let version: String = client
        .query_one("SHOW server_version", &[])
        .await
        .unwrap()
        .get(0);
    assert!(!version.is_empty());
}
