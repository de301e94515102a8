//! Long work started from a page (summarising again, today) runs on the blocking pool, apart
//! from the browser: closing the tab does not stop it. Each job keeps every event it reported,
//! so a page that connects late, or reconnects, is sent all of them over server-sent events.

use crate::meeting_job::{Event, Events};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::Stream;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::watch;

/// Finished jobs kept for their pages; older ones are forgotten.
const KEEP_FINISHED: usize = 50;

/// One piece of work and what it reported so far.
pub struct Job {
    pub id: u64,
    /// What the job works on (a meeting id, a file): a second start with the same key and
    /// `what` joins the running job.
    key: String,
    /// The meeting it works on, when it is known before the job ends.
    meeting_id: Option<String>,
    /// The page to go back to when there is no meeting to show.
    pub back: String,
    /// What the job does, for its page ("Summarise with template-standard").
    pub what: String,
    events: Mutex<Vec<Event>>,
    /// How many events there are: a stream waits on it for more.
    count: watch::Sender<usize>,
}

impl Job {
    fn push(&self, event: Event) {
        let mut events = lock(&self.events);
        events.push(event);
        self.count.send_replace(events.len());
    }

    /// The events so far.
    pub fn events(&self) -> Vec<Event> {
        lock(&self.events).clone()
    }

    pub fn finished(&self) -> bool {
        lock(&self.events).iter().any(ends)
    }

    /// The meeting the job made or worked on, once known.
    pub fn meeting(&self) -> Option<String> {
        let made = lock(&self.events).iter().find_map(|e| match e {
            Event::Done { meeting_id } => meeting_id.clone(),
            _ => None,
        });
        made.or_else(|| self.meeting_id.clone())
    }
}

/// The last event a job reports.
fn ends(e: &Event) -> bool {
    matches!(e, Event::Done { .. } | Event::Failed { .. })
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[derive(Default)]
pub struct Jobs {
    next: AtomicU64,
    jobs: Mutex<BTreeMap<u64, Arc<Job>>>,
}

impl Jobs {
    pub fn get(&self, id: u64) -> Option<Arc<Job>> {
        lock(&self.jobs).get(&id).cloned()
    }

    /// The unfinished job doing `what` with `key`, if there is one: a second click
    /// joins it rather than sending the meeting twice.
    pub(crate) fn running(&self, key: &str, what: &str) -> Option<Arc<Job>> {
        lock(&self.jobs)
            .values()
            .find(|j| j.key == key && j.what == what && !j.finished())
            .cloned()
    }

    /// Starts `work` on the blocking pool. It reports through the events it is given and ends
    /// with [`Event::Done`] or [`Event::Failed`]; one that stops without either (a panic) is
    /// reported as failed.
    pub fn start(
        &self,
        key: &str,
        meeting_id: Option<&str>,
        back: &str,
        what: &str,
        work: impl FnOnce(Events) + Send + 'static,
    ) -> Arc<Job> {
        if let Some(job) = self.running(key, what) {
            return job;
        }
        let job = Arc::new(Job {
            id: self.next.fetch_add(1, Ordering::Relaxed) + 1,
            key: key.to_string(),
            meeting_id: meeting_id.map(str::to_string),
            back: back.to_string(),
            what: what.to_string(),
            events: Mutex::new(Vec::new()),
            count: watch::Sender::new(0),
        });
        {
            let mut jobs = lock(&self.jobs);
            let finished: Vec<u64> = jobs
                .values()
                .filter(|j| j.finished())
                .map(|j| j.id)
                .collect();
            for id in finished
                .iter()
                .take(finished.len().saturating_sub(KEEP_FINISHED))
            {
                jobs.remove(id);
            }
            jobs.insert(job.id, job.clone());
        }
        let reporter = job.clone();
        let events: Events = Arc::new(move |e| reporter.push(e));
        let handle = tokio::task::spawn_blocking(move || work(events));
        let watcher = job.clone();
        tokio::spawn(async move {
            let outcome = handle.await;
            if !watcher.finished() {
                let message = match outcome {
                    Err(e) => format!("the job stopped: {e}"),
                    Ok(()) => "the job ended without saying how".to_string(),
                };
                tracing::error!(job = watcher.id, "app: {message}");
                watcher.push(Event::Failed { message });
            }
        });
        job
    }
}

/// The job's events as server-sent events, from the first; the stream ends after the last.
pub fn stream(job: Arc<Job>) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let state = (job.clone(), job.count.subscribe(), 0usize, false);
    let events = futures_util::stream::unfold(state, |(job, mut count, sent, over)| async move {
        if over {
            return None;
        }
        loop {
            let available: Vec<Event> = lock(&job.events)[sent..].to_vec();
            if !available.is_empty() {
                let over = available.iter().any(ends);
                let data: Vec<String> = available
                    .iter()
                    .map(|e| serde_json::to_string(e).unwrap_or_else(|_| "{}".into()))
                    .collect();
                // One SSE message per batch: a JSON array of events.
                let message = SseEvent::default().data(format!("[{}]", data.join(",")));
                return Some((Ok(message), (job, count, sent + available.len(), over)));
            }
            if count.changed().await.is_err() {
                return None;
            }
        }
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}
