//! tlspost on an ESP32-C3 board: joins the Wi-Fi network (esp-radio), gets an address and a DNS
//! server by DHCP (embassy-net), sets the clock by SNTP (the build time is the floor until it
//! answers), then POSTs the JSON body to the URL with `firmware/tlspost-app`: verified TLS 1.3
//! (the pinned roots in `src/roots.rs`, the hardware TRNG), retries only when safe, the status,
//! timings and response on the serial console; and again after every interval.
//!
//! Settings are build-time environment variables (build.rs): `TLSPOST_SSID`, `TLSPOST_PASSWORD`,
//! `TLSPOST_URL`, and optionally `TLSPOST_BODY`, `TLSPOST_INTERVAL_S` (60), `TLSPOST_NTP`
//! (pool.ntp.org). docs/device.md walks through building, flashing and the first boot.
#![no_std]
#![no_main]

mod clock;
mod net;
mod roots;

use embassy_executor::Spawner;
use embassy_net::{Runner, Stack, StackResources};
use embassy_time::Timer;
use esp_alloc as _;
use esp_backtrace as _;
use esp_hal::clock::CpuClock;
use esp_hal::ram;
use esp_hal::rng::{Trng, TrngSource};
use esp_hal::timer::timg::TimerGroup;
use esp_println::{Printer, println};
use esp_radio::wifi::sta::StationConfig;
use esp_radio::wifi::{AuthenticationMethodConfig, Config, ControllerConfig, Interface, WifiController};
use static_cell::StaticCell;
use tlspost_app::{Job, Memory, Parts, post};

use crate::clock::BoardClock;
use crate::net::{EmbassyNet, SocketBuffers};

esp_bootloader_esp_idf::esp_app_desc!();

const SSID: &str = env!("TLSPOST_SSID");
const PASSWORD: &str = env!("TLSPOST_PASSWORD");
const URL: &str = env!("TLSPOST_URL");
const BODY: &str = match option_env!("TLSPOST_BODY") {
    Some(b) => b,
    None => r#"{"device":"esp32c3","t":21.5}"#,
};
const INTERVAL_S: u64 = match option_env!("TLSPOST_INTERVAL_S") {
    Some(s) => clock::parse(s),
    None => 60,
};
const NTP: &str = match option_env!("TLSPOST_NTP") {
    Some(s) => s,
    None => "pool.ntp.org",
};

/// The heap esp-radio's Wi-Fi driver allocates from (Espressif measures 47–57 KB for a station):
/// the 64 KB the ROM bootloader used, reclaimed, and 36 KB more.
pub const HEAP_RECLAIMED: usize = 64 * 1024;
pub const HEAP_MAIN: usize = 36 * 1024;

/// Every buffer of the report (TLS records, HTTP, the kept response) and the TCP socket's: in
/// `.bss`, not in the report task's future.
static MEMORY: StaticCell<Memory> = StaticCell::new();
static SOCKET: StaticCell<SocketBuffers> = StaticCell::new();
/// The network stack's sockets: DHCP, DNS, the TCP connection and the SNTP socket.
static RESOURCES: StaticCell<StackResources<4>> = StaticCell::new();

#[esp_hal::main]
async fn main(spawner: Spawner) -> ! {
    let peripherals = esp_hal::init(esp_hal::Config::default().with_cpu_clock(CpuClock::max()));
    esp_alloc::heap_allocator!(#[ram(reclaimed)] size: HEAP_RECLAIMED);
    esp_alloc::heap_allocator!(size: HEAP_MAIN);
    let timg0 = TimerGroup::new(peripherals.TIMG0);
    esp_rtos::start(timg0.timer0, peripherals.FROM_CPU_INTR0);
    println!("tlspost esp32c3: POST to {URL} every {INTERVAL_S} s");

    // The TRNG: the RNG peripheral with the ADC as its entropy source, kept on for good.
    let source = TrngSource::new(peripherals.RNG, peripherals.ADC1);
    core::mem::forget(source);
    let Ok(trng) = Trng::try_new() else {
        halt("the hardware TRNG is not available")
    };
    let job = match Job::new(URL, BODY.as_bytes(), roots::ROOTS) {
        Ok(job) => job,
        Err(e) => halt_with(e),
    };

    let auth = if PASSWORD.is_empty() {
        AuthenticationMethodConfig::Open
    } else {
        match PASSWORD.try_into() {
            Ok(p) => AuthenticationMethodConfig::Wpa2Personal(p),
            Err(_) => halt("TLSPOST_PASSWORD is too long for WPA2 (at most 63 characters)"),
        }
    };
    let Ok(ssid) = SSID.try_into() else {
        halt("TLSPOST_SSID is longer than 32 bytes")
    };
    let station = Config::Station(StationConfig::default().with_ssid(ssid).with_authentication(auth));
    let controller = match WifiController::new(
        peripherals.WIFI,
        ControllerConfig::default().with_initial_config(station),
    ) {
        Ok(c) => c,
        Err(e) => halt_with(format_args!("Wi-Fi did not start: {e:?}")),
    };
    let seed = (u64::from(trng.random()) << 32) | u64::from(trng.random());
    let (stack, runner) = embassy_net::new(
        Interface::station(),
        embassy_net::Config::dhcpv4(Default::default()),
        RESOURCES.init(StackResources::new()),
        seed,
    );
    spawn(spawner, wifi(controller));
    spawn(spawner, network(runner));
    spawn(spawner, report(stack, trng, job));
    loop {
        Timer::after_secs(3600).await;
    }
}

fn spawn<S>(spawner: Spawner, token: Result<embassy_executor::SpawnToken<S>, embassy_executor::SpawnError>) {
    match token {
        Ok(t) => spawner.spawn(t),
        Err(e) => halt_with(format_args!("task not spawned: {e:?}")),
    }
}

/// Keeps the station connected: connects, waits for a disconnection, connects again.
#[embassy_executor::task]
async fn wifi(mut controller: WifiController<'static>) {
    loop {
        println!("Wi-Fi: joining {SSID}");
        match controller.connect_async().await {
            Ok(_) => {
                println!("Wi-Fi: joined {SSID}");
                let why = controller.wait_for_disconnect_async().await;
                println!("Wi-Fi: disconnected ({why:?})");
            }
            Err(e) => println!("Wi-Fi: could not join {SSID}: {e:?} (name, password, 2.4 GHz, WPA2?)"),
        }
        Timer::after_secs(5).await;
    }
}

/// Runs the network stack.
#[embassy_executor::task]
async fn network(mut runner: Runner<'static, Interface>) {
    runner.run().await
}

/// Waits for an address, sets the clock, then reports every `INTERVAL_S` seconds.
#[embassy_executor::task]
async fn report(stack: Stack<'static>, mut trng: Trng, job: Job<'static>) {
    stack.wait_config_up().await;
    if let Some(cfg) = stack.config_v4() {
        println!(
            "DHCP: address {}, gateway {:?}, DNS {:?}",
            cfg.address, cfg.gateway, cfg.dns_servers
        );
    }
    let mut clock = BoardClock::new();
    let mem = MEMORY.init_with(Memory::new);
    let sockets = SOCKET.init_with(SocketBuffers::new);
    loop {
        match clock.sync(stack, NTP).await {
            Ok(unix) => println!("SNTP: {unix} s since 1970 from {NTP}"),
            Err(e) => println!(
                "SNTP: {e}; certificate dates are checked against the build time {}",
                clock::BUILD_TIME
            ),
        }
        let mut net = EmbassyNet {
            stack,
            bufs: &mut *sockets,
        };
        let parts = Parts {
            net: &mut net,
            clock: &mut clock,
            rng: &mut trng,
            out: &mut Printer,
        };
        match post(parts, &job, &mut mem.buffers()).await {
            Ok(r) => println!(
                "report: status {} after {} attempt(s), {} ms",
                r.status, r.attempts, r.timings.total
            ),
            Err(failed) => println!("report failed: {failed}"),
        }
        Timer::after_secs(INTERVAL_S).await;
    }
}

fn halt(why: &str) -> ! {
    halt_with(why)
}

fn halt_with(why: impl core::fmt::Display) -> ! {
    println!("tlspost esp32c3: {why}; stopped");
    loop {
        core::hint::spin_loop();
    }
}
